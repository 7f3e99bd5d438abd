/** An `s3://bucket/prefix` location: the bucket and the key prefix ("" when none). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

/**
 * Parses `s3://bucket[/prefix]` (scheme in any case); undefined for anything else (a directory, `file://...`).
 * The one place that reads S3 URLs: results stores, close-out backup targets and the IAM policies for them.
 * No SDK import here, so callers that only parse pay nothing for S3.
 */
export function parseS3Url(url: string): S3Location | undefined {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(url.trim());
  return m ? { bucket: m[1]!, prefix: m[2]! } : undefined;
}

/** True for an `s3://` location (any case): how every entry point tells an S3 store from a directory. */
export function isS3Location(location: string): boolean {
  return parseS3Url(location) !== undefined;
}
