export type { ZstdCodec } from './codec.js';
export { selectZstdCodec } from './selectCodec.js';
export { createNativeCodec } from './nativeCodec.js';
export { createJsCodec, JS_MAX_FRAME_BYTES } from './jsCodec.js';
export { FrameCompressor, type FrameCompressorOptions } from './FrameCompressor.js';
export { FrameDecompressor, type FrameDecompressorOptions } from './FrameDecompressor.js';
export { readFrameIndex, type FrameEntry } from './readFrameIndex.js';
