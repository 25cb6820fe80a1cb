// What the browser tests share: their environment and a Chromium launched
// the way this machine allows (Debian's browser, no sandbox as root, no
// background networking: nothing outside is reachable).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE_URL = process.env.BERTH_URL?.replace(/\/+$/, '');
export const USER = process.env.BERTH_ADMIN_USER || 'admin';
export const PASSWORD = process.env.BERTH_ADMIN_PASSWORD;
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const SHOTS = process.env.BERTH_SCREENSHOT_DIR;
export const TIMEOUT = 15_000;

// launch checks the environment and opens a fresh browser profile with one
// page; close() ends it and removes the profile.
export async function launch() {
  assert.ok(BASE_URL, 'set BERTH_URL to the berth server, e.g. http://127.0.0.1:8080');
  assert.ok(PASSWORD, 'set BERTH_ADMIN_PASSWORD (and BERTH_ADMIN_USER, default admin)');
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  if (SHOTS) await mkdir(SHOTS, { recursive: true });

  const userDataDir = await mkdtemp(join(tmpdir(), 'berth-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(TIMEOUT);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
