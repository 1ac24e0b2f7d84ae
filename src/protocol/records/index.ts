/** Record formats of the Kafka protocol: RecordBatch v2, legacy MessageSet v0/v1, codecs. */
export * from '../compression/index.ts';
export * from './batch-builder.ts';
export * from './batch-header.ts';
export * from './control.ts';
export * from './crc32.ts';
export * from './crc32c.ts';
export * from './errors.ts';
export {
  type BuildMessageSetOptions,
  buildMessageSet,
  buildMessageSetSync,
  type DownConverted,
  type DownConvertOptions,
  encodeMessage,
  type LegacyEntry,
  type LegacyMagic,
  type LegacyMessage,
  type LegacyMessageInput,
  messageSetToRecordBatch,
  type ParseMessageSetOptions,
  parseMessageSet,
  parseMessageSetSync,
  recordBatchesToMessageSet,
  type UpConvertOptions,
} from './legacy.ts';
export * from './record.ts';
