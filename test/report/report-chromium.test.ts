// report.html of the demo ensemble opened in headless Chromium (Debian's `chromium`): the plots are drawn
// (SVG marks with geometry), nothing is fetched, no console errors. Skipped when /usr/bin/chromium is absent.
// MFPAR_UPDATE_SCREENSHOTS=1 also writes docs/img/report.png for the docs.

import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../lib/config/index.js";
import { aggregateScenario } from "../../lib/report/index.js";
import { LocalStore, summaryKeys } from "../../lib/store/index.js";
import { virtualClock } from "../../lib/time.js";
import { seedStore } from "../../testing/markers.js";
import { repoRoot, tempDir } from "../support/tmp.js";
import { demoObjects } from "./support/demo.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`report-chromium: skipped, ${CHROMIUM} not found (apt-get install -y chromium)`);

describe.skipIf(!haveChromium)("report.html in headless Chromium", () => {
  let browser: Browser;
  let reportPath: string;
  beforeAll(async () => {
    const dir = tempDir();
    const store = new LocalStore(join(dir, "store"));
    await seedStore(store, demoObjects());
    const scenario = await loadScenario(`${repoRoot}/projects/demo/base.yaml`);
    await aggregateScenario(store, scenario, {
      batch: {
        batchId: "20261121T0930Z-3f9a1c",
        createdAt: "2026-11-21T09:30:12Z",
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/agente-demo@sha256:4c1e…",
        origin: "local demo",
      },
      clock: virtualClock(new Date("2026-11-21T12:00:00Z")),
    });
    reportPath = join(dir, "store", summaryKeys.report("base"));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  afterAll(() => browser?.close());

  it("draws every plot offline without errors", async () => {
    const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    const url = pathToFileURL(reportPath).href;
    await page.goto(url, { waitUntil: "load" });

    const figures = await page.$$eval("figure", (figs) =>
      figs.map((f) => {
        const svg = f.querySelector("svg");
        const box = svg?.getBoundingClientRect();
        const count = (sel: string) =>
          [...f.querySelectorAll(`${sel} path`)].filter((p) => (p.getAttribute("d") ?? "").length > 2).length;
        return {
          label: f.getAttribute("aria-label"),
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          rects: count(".mark-rect"),
          symbols: count(".mark-symbol"),
          rules: f.querySelectorAll(".mark-rule line, .mark-rule path").length,
          text: f.querySelectorAll(".mark-text text, text").length,
        };
      }),
    );
    expect(figures.map((f) => f.label)).toEqual([
      "Realizations per state",
      "Histogram of realization times",
      "Failures per cause",
      "heads ensemble ranges",
      "heads histograms",
      "budget ensemble ranges",
      "budget histograms",
    ]);
    for (const f of figures) {
      expect(f.width, f.label!).toBeGreaterThan(150);
      expect(f.height, f.label!).toBeGreaterThan(60);
      expect(f.rects + f.symbols, f.label!).toBeGreaterThan(0);
      expect(f.text, f.label!).toBeGreaterThan(3); // axes are labelled
    }
    const heads = figures.find((f) => f.label === "heads ensemble ranges")!;
    // 196 realizations x 10 wells as dots + 10 observed diamonds + legend symbols; 2 bars per well.
    expect(heads.symbols).toBeGreaterThanOrEqual(1960 + 10);
    expect(heads.rects).toBeGreaterThanOrEqual(20);
    // Observed values drawn as rules in 10 of the heads histograms.
    expect(figures.find((f) => f.label === "heads histograms")!.rules).toBeGreaterThanOrEqual(10);

    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    expect(await page.title()).toBe("demo / base — ensemble report");

    const shot = await page.locator("main").screenshot({ type: "png", clip: undefined } as never);
    expect(shot.length).toBeGreaterThan(10_000);
    if (process.env.MFPAR_UPDATE_SCREENSHOTS === "1") {
      await mkdir(`${repoRoot}/docs/img`, { recursive: true });
      const top = await page.screenshot({
        type: "png",
        fullPage: true,
        clip: { x: 0, y: 0, width: 1180, height: 2300 },
      });
      await writeFile(`${repoRoot}/docs/img/report.png`, top);
    }
    await page.close();
  });

  it("prints: figures are kept whole on a page", async () => {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(reportPath).href);
    await page.emulateMedia({ media: "print" });
    // Runs in the page (no DOM lib in this project's types).
    const breakInside = await page.$eval(
      "figure",
      (f) =>
        (globalThis as unknown as { getComputedStyle(e: unknown): { breakInside: string } }).getComputedStyle(
          f,
        ).breakInside,
    );
    expect(breakInside).toBe("avoid");
    const pdf = await page.pdf({ format: "A4", printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    await page.close();
  });
});
