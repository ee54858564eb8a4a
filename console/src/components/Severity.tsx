// Severity is always text + icon + colour, so it reads without colour vision.

const ICONS: Record<string, string> = {
  critical: '⬣',
  high: '▲',
  medium: '◆',
  low: '●',
  negligible: '○',
  unknown: '?',
};

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] as const;

export function severityName(s: unknown): string {
  const v = String(s ?? 'unknown').toLowerCase();
  return v in ICONS ? v : 'unknown';
}

export function Severity({ value }: { value: unknown }) {
  const s = severityName(value);
  return (
    <span className={`sev sev-${s}`}>
      <span aria-hidden="true" className="sev-icon">
        {ICONS[s]}
      </span>
      {s[0].toUpperCase() + s.slice(1)}
    </span>
  );
}
