// Install snippets for a source: analytics.js (Segment's @segment/analytics-next, sent to
// this collector's /v1/* with the write key) and the Tracardi-style tracker (POST /track
// with the source id). No CDN: the user serves the packages they install.

export interface SnippetTarget {
  collector: string; // e.g. http://127.0.0.1:8686
  sourceId: string;
  writeKey: string | null; // null: shown masked (keys are shown once)
}

const KEY_PLACEHOLDER = "<WRITE KEY: shown once when issued>";

export function analyticsJsSnippet({ collector, writeKey }: SnippetTarget): string {
  const url = new URL(collector);
  const key = writeKey ?? KEY_PLACEHOLDER;
  return `// npm install @segment/analytics-next
import { AnalyticsBrowser } from "@segment/analytics-next";

export const analytics = AnalyticsBrowser.load({
  writeKey: ${JSON.stringify(key)},
  cdnSettings: { integrations: { "Segment.io": {
    apiKey: ${JSON.stringify(key)},
    apiHost: ${JSON.stringify(url.host + "/v1")},
    protocol: ${JSON.stringify(url.protocol.replace(":", ""))},
  } } },
});
analytics.page();
analytics.track("Signed Up", { plan: "pro" });`;
}

export function trackerSnippet({ collector, sourceId }: SnippetTarget): string {
  return `<script>
// Tracardi tracker protocol: POST ${collector}/track
(function () {
  const collector = ${JSON.stringify(collector)};
  const source = ${JSON.stringify(sourceId)};
  window.headwaterTrack = async function (type, properties) {
    const answer = await fetch(collector + "/track", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        source: { id: source },
        profile: { id: localStorage.getItem("hw-profile-id") },
        session: { id: sessionStorage.getItem("hw-session-id") },
        context: { page: { url: location.href, title: document.title } },
        events: [{ type: type, properties: properties || {} }],
      }),
    });
    const body = await answer.json();
    if (body.profile) localStorage.setItem("hw-profile-id", body.profile.id);
    sessionStorage.setItem("hw-session-id", body.session.id);
    return body;
  };
  window.headwaterTrack("page-view", { title: document.title });
})();
</script>`;
}

export function curlSnippet({ collector, sourceId }: SnippetTarget): string {
  return `curl -s ${collector}/track -H 'content-type: application/json' \\
  -d '{"source":{"id":"${sourceId}"},"events":[{"type":"page-view"}]}'`;
}
