/**
 * Recurrence: a fixed interval in seconds, or a cron expression (5 fields, or 6 with seconds)
 * evaluated in an IANA time zone by cron-parser. Missed slots are not caught up: after a pause or
 * an outage the next slot is the first one after `now`, so a worker that was down for a day
 * does not send a day's worth of slots at once.
 */
import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../../errors.ts';
import { field } from './common.ts';

/** A stored recurrence: exactly one of `interval_seconds` and `cron` is set. */
export interface Recurrence {
  interval_seconds: number | null;
  cron: string | null;
  /** IANA zone for `cron` (default UTC). */
  timezone: string | null;
}

/** Most seconds between two runs (one year). */
const MAX_INTERVAL = 366 * 24 * 3600;

/**
 * Parses `interval_seconds` or `cron` (+ `timezone`).
 * @param required - whether a recurrence must be given (DCA) or may be absent (micro_tip one-shot).
 * @throws {ValidationError} naming `params.interval_seconds`, `params.cron` or `params.timezone`.
 */
export function parseRecurrence(input: Record<string, unknown>, required: boolean): Recurrence | null {
  const set = (v: unknown) => v !== undefined && v !== null;
  const hasInterval = set(input.interval_seconds);
  const hasCron = set(input.cron);
  if (hasInterval && hasCron) throw new ValidationError(field('cron'), 'give either interval_seconds or cron, not both');
  if (!hasInterval && !hasCron) {
    if (set(input.timezone)) throw new ValidationError(field('timezone'), 'only applies with cron');
    if (required) throw new ValidationError(field('interval_seconds'), 'is required (or give cron): how often to send, in seconds');
    return null;
  }
  if (hasInterval) {
    const v = input.interval_seconds;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_INTERVAL) {
      throw new ValidationError(field('interval_seconds'), `must be a whole number of seconds from 1 to ${MAX_INTERVAL}`);
    }
    if (set(input.timezone)) throw new ValidationError(field('timezone'), 'only applies with cron');
    return { interval_seconds: v, cron: null, timezone: null };
  }
  const tz = set(input.timezone) ? input.timezone : 'UTC';
  if (typeof tz !== 'string' || !validZone(tz)) throw new ValidationError(field('timezone'), 'must be an IANA time zone such as "Europe/Berlin" or "UTC"');
  if (typeof input.cron !== 'string' || input.cron.trim() === '') throw new ValidationError(field('cron'), 'must be a cron expression such as "0 9 * * 1-5"');
  const cron = input.cron.trim().replace(/\s+/g, ' ');
  const fields = cron.split(' ').length;
  if (!cron.startsWith('@') && (fields < 5 || fields > 6)) throw new ValidationError(field('cron'), 'must have 5 fields (minute hour day month weekday) or 6 with seconds first');
  try {
    CronExpressionParser.parse(cron, { tz, strict: false }).next();
  } catch (err) {
    throw new ValidationError(field('cron'), `is not a valid cron expression (${err instanceof Error ? err.message : 'unparseable'})`);
  }
  return { interval_seconds: null, cron, timezone: tz };
}

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The first cron occurrence strictly after `after`. */
function nextCron(r: Recurrence, after: Date): Date {
  return CronExpressionParser.parse(r.cron!, { tz: r.timezone ?? 'UTC', currentDate: after }).next().toDate();
}

/**
 * The first slot at or after `from` (the start of a strategy): `from` itself for an interval,
 * the next cron occurrence for cron.
 */
export function firstOccurrence(r: Recurrence, from: Date): Date {
  if (r.interval_seconds !== null) return from;
  return nextCron(r, new Date(from.getTime() - 1));
}

/**
 * The slot after `slot`: `slot + k × interval` for the smallest k that lands after `now`, or the
 * next cron occurrence after `now`. Always later than both `slot` and `now`.
 */
export function nextOccurrence(r: Recurrence, slot: Date, now: Date): Date {
  if (r.interval_seconds !== null) {
    const step = r.interval_seconds * 1000;
    const behind = Math.max(0, now.getTime() - slot.getTime());
    const k = Math.floor(behind / step) + 1;
    return new Date(slot.getTime() + k * step);
  }
  return nextCron(r, new Date(Math.max(slot.getTime(), now.getTime())));
}
