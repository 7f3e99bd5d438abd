// cdktf's Jest matchers (toHaveResource, toHaveResourceWithProperties, ...) registered on vitest's expect.
// Imported by the cdktf suites only, so the rest of the tests never load cdktf.
import { Testing } from "cdktf";
import { expect } from "vitest";

(globalThis as { expect?: unknown }).expect = expect;
Testing.setupJest();

declare module "vitest" {
  // biome-ignore lint/suspicious/noExplicitAny: must match vitest's own declaration of Assertion
  interface Assertion<T = any> {
    toHaveResource(type: { tfResourceType: string }): void;
    toHaveResourceWithProperties(type: { tfResourceType: string }, properties: Record<string, unknown>): void;
    toHaveDataSource(type: { tfResourceType: string }): void;
    toHaveDataSourceWithProperties(
      type: { tfResourceType: string },
      properties: Record<string, unknown>,
    ): void;
    toHaveProvider(type: { tfResourceType: string }): void;
    toHaveProviderWithProperties(type: { tfResourceType: string }, properties: Record<string, unknown>): void;
  }
}
