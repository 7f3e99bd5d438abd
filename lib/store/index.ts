export * from "./keys.js";
export { LocalStore } from "./local.js";
export * from "./markers.js";
export { getJson, type OpenStoreOptions, openStore, putJson } from "./open.js";
export * from "./pass-cache.js";
export * from "./results.js";
export {
  createS3Client,
  MULTIPART_PART_SIZE,
  MULTIPART_QUEUE_SIZE,
  S3_MAX_ATTEMPTS,
  S3_PAGE_SIZE,
  S3Store,
  type S3StoreOptions,
} from "./s3.js";
export * from "./types.js";
