/**
 * Durations as people write them, for flags and environment variables alike: a bare number in
 * the setting's own unit (`1.5` seconds for a timeout, `120` milliseconds for a jitter), or a
 * number with a unit, `500ms`, `2s`, `1.5m`, `1h` (any case). Pure.
 */

/** Milliseconds per unit. */
const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

// A leading + is allowed, as Python's float() (the original's reading) allows it.
const DURATION = /^\s*\+?(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$/i;

/** A unit of {@link UNITS}: the unit of a bare number, or the one written. */
type BareUnit = keyof typeof UNITS;

/** `text` in milliseconds, not rounded, with the unit it was written with (if any). */
function readDuration(
  text: string,
  bareUnit: BareUnit,
): { ms: number; unit: keyof typeof UNITS | undefined } | undefined {
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const unit = match[2]?.toLowerCase() as keyof typeof UNITS | undefined;
  return { ms: Number(match[1]) * UNITS[unit ?? bareUnit], unit };
}

/**
 * `1.5` (a number of `bareUnit`), `500ms`, `2s`, `1.5m`, `1h` as whole milliseconds (rounded);
 * undefined when malformed. Negative numbers and exponents are malformed; a leading `+` is not.
 *
 * @example parseDuration('500ms') === 500; parseDuration('1.5') === 1500; parseDuration('120', 'ms') === 120
 */
export function parseDuration(text: string, bareUnit: BareUnit = 's'): number | undefined {
  const duration = readDuration(text, bareUnit);
  return duration && Math.round(duration.ms);
}

/**
 * `MIN-MAX` or `MAX` (MIN is then 0) as whole milliseconds: bare numbers are `bareUnit`, and a
 * MIN without a unit takes MAX's (`20-120ms`, `0.1-0.2s`). Undefined when malformed, when MIN >
 * MAX, or when a side is not a whole number of milliseconds (`1.5`, `0.0015s`).
 *
 * @example parseDurationRange('20-120') -> [20, 120]; parseDurationRange('100ms-1s') -> [100, 1000]
 */
export function parseDurationRange(
  text: string,
  bareUnit: BareUnit = 'ms',
): [number, number] | undefined {
  const parts = text.split('-');
  if (parts.length > 2) return undefined;
  const [first = '', second] = parts;
  const max = readDuration(second ?? first, bareUnit);
  const min = second === undefined ? { ms: 0 } : readDuration(first, max?.unit ?? bareUnit);
  if (!min || !max) return undefined;
  const whole = (ms: number) =>
    Math.abs(ms - Math.round(ms)) < 1e-6 ? Math.round(ms) : Number.NaN;
  const range: [number, number] = [whole(min.ms), whole(max.ms)];
  return range[0] <= range[1] ? range : undefined;
}
