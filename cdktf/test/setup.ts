// cdktf's Jest matchers (toHaveResource, toHaveResourceWithProperties, ...) registered on vitest's expect.
// Imported by the cdktf suites only, so the rest of the tests never load cdktf.
import { Testing } from "cdktf";
import { expect } from "vitest";

(globalThis as { expect?: unknown }).expect = expect;
Testing.setupJest();

declare module "vitest" {
  interface Assertion {
    toHaveResource(type: string): void;
    toHaveResourceWithProperties(type: string, properties: Record<string, unknown>): void;
    toHaveDataSource(type: string): void;
    toHaveDataSourceWithProperties(type: string, properties: Record<string, unknown>): void;
    toHaveProvider(type: string): void;
    toHaveProviderWithProperties(type: string, properties: Record<string, unknown>): void;
  }
}
