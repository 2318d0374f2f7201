export type { PutOptions, StoredBlob } from './BlobStore.js';
export type { SyncBlobStore as BlobStore } from './SyncBlobStore.js';
export {
  FileBlobStore,
  createBlobStore,
  type BlobEntry,
  type FileBlobStoreOptions,
} from './fs/FileBlobStore.js';
export {
  collectGarbage,
  type CollectGarbageOptions,
  type GarbageReport,
} from '../maintenance/blobGc.js';
export { assertFreeSpace, freeBytes, formatBytes } from './fs/diskSpace.js';
export {
  selectZstdCodec,
  FrameCompressor,
  FrameDecompressor,
  type ZstdCodec,
} from './zstd/index.js';
