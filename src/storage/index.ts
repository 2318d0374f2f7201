export type { PutOptions, StoredBlob } from './BlobStore.js';
export type { SyncBlobStore as BlobStore } from './SyncBlobStore.js';
export {
  FileBlobStore,
  createBlobStore,
  type BlobEntry,
  type FileBlobStoreOptions,
} from './FileBlobStore.js';
export { collectGarbage, type CollectGarbageOptions, type GarbageReport } from './gc.js';
export { assertFreeSpace, freeBytes, formatBytes } from './diskSpace.js';
export {
  selectZstdCodec,
  FrameCompressor,
  FrameDecompressor,
  type ZstdCodec,
} from './zstd/index.js';
