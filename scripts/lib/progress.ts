import type { BackfillProgress } from '../../workflows/backfill';

const clock = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}`;
};

/**
 * One line: bar, done / total, percent, failures, elapsed and ETA (from the rate so far), what is running.
 * `nowMs` is the caller's clock (the CLI reads it); the ETA is unknown until something finished.
 */
export function renderProgress(p: BackfillProgress, nowMs: number, width = 30): string {
  const ratio = p.total === 0 ? 1 : p.done / p.total;
  const filled = Math.round(ratio * width);
  const elapsed = nowMs - p.startedAtMs;
  const eta = p.finished
    ? 'done'
    : p.done === 0
      ? 'ETA --:--:--'
      : `ETA ${clock((elapsed / p.done) * (p.total - p.done))}`;
  const running = p.running.length
    ? ` · running ${p.running.slice(0, 3).join(', ')}${p.running.length > 3 ? ', …' : ''}`
    : '';
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} (${Math.floor(ratio * 100)} %)` +
    ` · ${p.failed} failed · ${clock(elapsed)} elapsed · ${eta}${running}`
  );
}
