// A single-node OpenSearch started from the jars Maven Central publishes, with its modules
// (HTTP and transport over Netty, painless, the common analysers, reindex with its
// delete/update by query) loaded from the class
// path instead of a distribution's modules/ folder. Compiled by `headwater engines fetch`.
//
// usage: java -cp CLASSES:LIB/* HeadwaterSearchNode HOME HTTP_PORT TRANSPORT_PORT

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.Collections;
import java.util.concurrent.CountDownLatch;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.transport.Netty4Plugin;

public final class HeadwaterSearchNode extends Node {
    private HeadwaterSearchNode(Settings settings) {
        super(
            InternalSettingsPreparer.prepareEnvironment(
                settings, Collections.emptyMap(), null, () -> "headwater-search"),
            Arrays.asList(
                Netty4Plugin.class,
                PainlessPlugin.class,
                CommonAnalysisPlugin.class,
                ReindexPlugin.class),
            true);
    }

    public static void main(String[] args) throws Exception {
        Path home = Paths.get(args[0]);
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "headwater")
            .put("node.name", "headwater-search")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", args[2])
            .put("discovery.type", "single-node")
            // a development node on a shared disk: never turn indices read-only
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // tests make an index family per test: more than the default 1,000 shards
            .put("cluster.max_shards_per_node", 100000)
            .build();
        HeadwaterSearchNode node = new HeadwaterSearchNode(settings);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }));
        node.start();
        System.out.println("headwater-search started on 127.0.0.1:" + args[1]);
        stopped.await(); // the node's threads are daemons: keep the JVM up until a signal
    }
}
