/**
 * Storage errors. OffsetOutOfRangeError maps to Kafka's OFFSET_OUT_OF_RANGE; StorageIoError wraps
 * a failed file operation (its `cause` has the file system's code, e.g. ENOSPC or EIO).
 */
import { TributaryError } from '../common/errors.ts';
import { errorCode } from '../common/fs.ts';

export class OffsetOutOfRangeError extends TributaryError {
  readonly offset: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;

  constructor(topic: string, partition: number, offset: number, start: number, end: number) {
    super(
      'BRK_NOT_FOUND',
      `offset ${offset} is out of range for ${topic}-${partition}: [${start}, ${end}]`,
    );
    this.name = 'OffsetOutOfRangeError';
    this.offset = offset;
    this.logStartOffset = start;
    this.logEndOffset = end;
  }
}

export class StorageIoError extends TributaryError {
  /** The file system's error code (ENOSPC, EIO, ...), when it gave one. */
  readonly fsCode: string | undefined;

  constructor(what: string, cause: unknown) {
    const fsCode = errorCode(cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('BRK_STORAGE_IO', `${what} failed: ${detail}`, { cause });
    this.name = 'StorageIoError';
    this.fsCode = fsCode;
  }
}

export class StorageClosedError extends TributaryError {
  constructor(what: string) {
    super('BRK_STORAGE_CLOSED', `${what}: log is closed`);
    this.name = 'StorageClosedError';
  }
}
