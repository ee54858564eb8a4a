import { useState } from 'react';

// Everything that comes from clusters, registries, images and feeds is hostile text:
// it is only ever rendered as React text children (never as HTML), bidirectional
// controls are made visible instead of reordering what surrounds them, and long strings
// are cut with the full text one click (or keypress) away.

// eslint-disable-next-line no-control-regex -- control characters are exactly what it finds
const BIDI_AND_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Bidi overrides/isolates and control characters shown as `[U+202E]`. */
export function neutralise(text: string): string {
  return text.replace(
    BIDI_AND_CONTROLS,
    (c) => `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`,
  );
}

export function Text({ value, max = 120, className }: { value: unknown; max?: number; className?: string }) {
  const [open, setOpen] = useState(false);
  const text = neutralise(value === null || value === undefined ? '' : String(value));
  const long = text.length > max;
  return (
    <bdi dir="auto" className={className ? `text ${className}` : 'text'}>
      {long && !open ? text.slice(0, max) + '…' : text}
      {long && (
        <button
          type="button"
          className="link-button more"
          aria-expanded={open}
          onClick={(e) => {
            e.preventDefault();
            e.stopPropagation();
            setOpen(!open);
          }}
        >
          {open ? 'show less' : `show all ${text.length.toLocaleString()} characters`}
        </button>
      )}
    </bdi>
  );
}

/** A link from a feed or a resource: only http(s) URLs become links, anything else stays text. */
export function SafeLink({ href, children }: { href: string; children?: React.ReactNode }) {
  let safe: boolean;
  try {
    const u = new URL(href);
    safe = u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    safe = false;
  }
  if (!safe) return <Text value={href} />;
  return (
    <a href={href} target="_blank" rel="noreferrer noopener">
      {children ?? <Text value={href} />}
    </a>
  );
}
