// Display helpers shared by the views.

/** "INSTALLED" / "pending_restore" -> "installed" / "pending restore" (CSS capitalises). */
export function stateLabel(value: string): string {
  return value.toLowerCase().replace(/_/g, ' ');
}

const TONES: Record<string, string> = {
  running: 'ok',
  installed: 'ok',
  succeeded: 'ok',
  healthy: 'ok',
  stopped: 'idle',
  paused: 'idle',
  archived: 'idle',
  error: 'bad',
  failed: 'bad',
  crashed: 'bad',
  dead: 'bad',
  unhealthy: 'bad',
};

/** ok | idle | bad | busy (anything in between: installing, updating, restarting, ...). */
export function stateTone(value: string): string {
  return TONES[value.toLowerCase()] ?? 'busy';
}

function toNumber(value: unknown): number | null {
  if (value == null || value === '') return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

/** A CPU quota in percent of the machine; 0 or none means no limit. */
export function formatPercent(value: unknown): string {
  const n = toNumber(value);
  if (n == null || n <= 0) return 'no limit';
  return `${Number.isInteger(n) ? n : n.toFixed(1)}%`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** A byte count; 0 or none means no limit. */
export function formatBytes(value: unknown): string {
  const n = toNumber(value);
  if (n == null || n <= 0) return 'no limit';
  let v = n;
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${v >= 10 || Number.isInteger(v) ? Math.round(v) : v.toFixed(1)} ${UNITS[unit]}`;
}
