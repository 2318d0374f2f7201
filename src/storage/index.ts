export type {
  BlobBatch,
  BlobEntry,
  BlobStore,
  ByteRange,
  PutOptions,
  StoredBlob,
} from './BlobStore.js';
export {
  FileBlobStore,
  createFileBlobStore,
  type FileBlobStoreOptions,
} from './fs/FileBlobStore.js';
export { assertFreeSpace, freeBytes, formatBytes } from './fs/diskSpace.js';
export {
  selectZstdCodec,
  FrameCompressor,
  FrameDecompressor,
  type ZstdCodec,
} from './zstd/index.js';
