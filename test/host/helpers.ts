import { RecordError, type RecordErrorReason } from '../../src/host/records.js';

/** True when `error` is a RecordError with `reason`. */
export function isRecordError(error: unknown, reason: RecordErrorReason): boolean {
  return error instanceof RecordError && error.reason === reason;
}
