/** Cursors: ours decode, anything else is `INVALID_INPUT` naming `cursor` before a query sees it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCursor, encodeCursor } from './pagination.ts';
import { ValidationError } from '../errors.ts';

const ID = '6f1c2b7e-3d4a-4b5c-9d8e-7f6a5b4c3d2e';
const forged = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

test('a cursor made by encodeCursor decodes to its time and id', () => {
  const at = new Date('2025-12-07T10:11:12.345Z');
  assert.deepEqual(decodeCursor(encodeCursor(at, ID)), [at, ID]);
});

test('forged cursors are refused: times out of Postgres\'s range, uuid look-alikes, other shapes', () => {
  const cases = [
    // JavaScript reads these times, Postgres's timestamptz cannot hold them (was a 500, found by the fuzz test).
    forged(['-271821-04-20T00:00:00.000Z', ID]),
    forged(['-004714-11-24T00:00:00.000Z', ID]),
    forged(['+275760-09-13T00:00:00.000Z', ID]),
    forged(['2025-12-07', ID]),
    forged(['now', ID]),
    // 36 characters of hex and dashes, not a uuid (was a 500 too).
    forged(['2025-12-07T10:11:12.345Z', '-'.repeat(36)]),
    forged({ at: '2025-12-07T10:11:12.345Z', id: ID }),
    '!!!',
    '',
  ];
  for (const c of cases) {
    assert.throws(() => decodeCursor(c), (err: unknown) => err instanceof ValidationError && err.field === 'cursor', c);
  }
});
