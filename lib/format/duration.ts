// Durations as mfpar prints them, in three notations: for reading (status and report tables), the short
// notation config files accept (`1h30m`, `90s`), and a running clock (progress lines).

/** `3723000` → `1 h 2 min`; `45200` → `45 s`; `800` → `0.8 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** The notation config files accept (lib/config/duration.ts parses it back): `5400000` → `1h30m`; `500` → `500ms`. */
export function formatDurationShort(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return [h ? `${h}h` : "", m ? `${m}m` : "", sec || (!h && !m) ? `${sec}s` : ""].join("");
}

/** A running clock for progress lines: `2500` → `2.5s`; `75000` → `1m15s`; `3900000` → `1h05m`. */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms)) return "?";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h) return `${h}h${String(m).padStart(2, "0")}m`;
  return m ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}
