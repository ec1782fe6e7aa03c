import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import {
  currentContext,
  currentSession,
  subscribe,
  type Context,
  type Session,
} from "../api/client";

export const useSession = (): Session | null => useSyncExternalStore(subscribe, currentSession);
export const useContextName = (): Context => useSyncExternalStore(subscribe, currentContext);

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when a dependency or the context changes; `every` ms: again and again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], every?: number): Loaded<T> {
  const context = useContextName();
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [context, tick, ...deps]);
  useEffect(() => {
    if (!every) return;
    const timer = setInterval(reload, every);
    return () => clearInterval(timer);
  }, [every, reload]);
  return { ...state, reload };
}
