// End-to-end test of the Apps view in headless Chromium against a running berth server with
// a Docker engine holding the image berth-test/busybox:1: installing an app from the form,
// field errors of a bad install, and stopping and starting the app, all followed live over
// the tasksChanged subscription. Same environment as browser.test.mjs.
//
// BERTH_SCREENSHOT_DIR, if set, receives screenshots of the Apps view with a running app,
// with a field error, and while the app stops.
//
// The tests run in order in one page, which is loaded once: every change they wait for must
// arrive over the websocket (a marker on window proves that the page never reloads).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE_URL, USER, PASSWORD, SHOTS, launch } from './chromium.mjs';

const IMAGE = 'berth-test/busybox:1';
const LOCATION = 'browsertest';
// Installs and container starts take a few seconds each.
const SLOW = 60_000;

let browser;
let page;
const pageErrors = [];

before(async () => {
  browser = await launch();
  ({ page } = browser);
  page.on('pageerror', (err) => {
    pageErrors.push(err);
    console.error('page error:', err);
  });
  await page.goto(`${BASE_URL}/login?next=/apps`);
  await page.getByLabel('Username').fill(USER);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: /^Apps/, level: 1 }).waitFor();
  await page.evaluate(() => {
    window.__berthNoReload = true;
  });
});

after(async () => {
  await browser?.close();
});

async function screenshot(name) {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function assertNotReloaded() {
  assert.equal(await page.evaluate(() => window.__berthNoReload), true, 'the page reloaded');
  assert.deepEqual(pageErrors, [], 'the page threw');
}

const row = () => page.locator(`tr[data-location="${LOCATION}"]`);
const form = () => page.locator('form', { has: page.getByRole('heading', { name: 'Install app' }) });

async function waitForRow(attrs, timeout = SLOW) {
  const sel = Object.entries(attrs)
    .map(([k, v]) => `[data-${k}="${v}"]`)
    .join('');
  await page.locator(`tr[data-location="${LOCATION}"]${sel}`).waitFor({ timeout });
}

/** Starts recording the row's "busy" texts and button states, however brief. */
async function recordRow() {
  await page.evaluate((location) => {
    const tr = document.querySelector(`tr[data-location="${location}"]`);
    window.__rowSeen = [];
    const check = () => {
      const busy = tr.querySelector('[data-testid="app-busy"]')?.textContent?.trim() ?? null;
      const disabled = [...tr.querySelectorAll('.app-buttons button')].map((b) => b.disabled);
      window.__rowSeen.push({ busy, disabled, runState: tr.dataset.runState });
    };
    check();
    new MutationObserver(check).observe(tr, { subtree: true, childList: true, characterData: true, attributes: true });
  }, LOCATION);
}

test('admins install an app from the form and see it run', async () => {
  await form().waitFor();
  await page.getByLabel('Image', { exact: true }).fill(IMAGE);
  await page.getByLabel('Location', { exact: true }).fill(LOCATION);
  await page.getByLabel('Memory (MiB)').fill('128');
  await page.getByRole('button', { name: 'Install', exact: true }).click();

  await page.getByTestId('install-task').waitFor();
  await row().waitFor();
  assert.equal((await row().locator('td.mono').textContent())?.trim(), IMAGE);
  assert.match((await row().textContent()) ?? '', /128 MiB/);
  // It is installed in the background: first pending, then installed and running.
  await waitForRow({ 'installation-state': 'installed', 'run-state': 'running' });
  assert.equal((await row().getByTestId('installation-state').textContent())?.trim(), 'installed');
  assert.equal((await row().getByTestId('run-state').textContent())?.trim(), 'running');
  await row().locator('[data-testid="app-busy"]').waitFor({ state: 'detached' });
  assert.equal(await row().getByRole('button', { name: 'Start', exact: true }).isDisabled(), true, 'Start enabled while running');
  assert.equal(await row().getByRole('button', { name: 'Stop', exact: true }).isEnabled(), true);
  assert.equal(await row().getByRole('button', { name: 'Restart', exact: true }).isEnabled(), true);
  await screenshot('apps-running');
  await assertNotReloaded();
});

test('a bad install shows the server error next to Location', async () => {
  const rowsBefore = await page.locator('tbody tr').count();
  await page.getByLabel('Image', { exact: true }).fill(IMAGE);
  const location = page.getByLabel('Location', { exact: true });
  await location.fill('Not Valid');
  await page.getByRole('button', { name: 'Install', exact: true }).click();

  await page.locator('input[name="location"][aria-invalid="true"]').waitFor();
  const describedBy = await location.getAttribute('aria-describedby');
  assert.ok(describedBy, 'the Location field is not described by its error');
  const text = (await page.locator(`[id="${describedBy}"]`).textContent())?.trim() ?? '';
  assert.match(text, /host name/i, `unexpected error text "${text}"`);
  // Next to the field: in the same group as the Location input.
  const group = page.locator('.field', { has: page.locator('input[name="location"]') });
  assert.equal(await group.locator(`[id="${describedBy}"]`).count(), 1);
  assert.equal(await page.locator('input[name="image"][aria-invalid="true"]').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'location');
  assert.equal(await page.locator('tbody tr').count(), rowsBefore, 'an app was added');
  await screenshot('apps-bad-install');
  await location.fill('');
  await assertNotReloaded();
});

test('Stop disables the buttons, says "Stopping…", then the app is stopped', async () => {
  await recordRow();
  await row().getByRole('button', { name: 'Stop', exact: true }).click();
  await row().getByTestId('app-busy').filter({ hasText: 'Stopping…' }).waitFor();
  assert.equal(await row().getByRole('button', { name: 'Start', exact: true }).isDisabled(), true);
  assert.equal(await row().getByRole('button', { name: 'Stop', exact: true }).isDisabled(), true);
  assert.equal(await row().getByRole('button', { name: 'Restart', exact: true }).isDisabled(), true);
  await screenshot('apps-stopping');

  await waitForRow({ 'run-state': 'stopped' });
  await row().locator('[data-testid="app-busy"]').waitFor({ state: 'detached', timeout: SLOW });
  assert.equal((await row().getByTestId('run-state').textContent())?.trim(), 'stopped');
  assert.equal(await row().getByRole('button', { name: 'Start', exact: true }).isEnabled(), true);
  assert.equal(await row().getByRole('button', { name: 'Stop', exact: true }).isDisabled(), true, 'Stop enabled while stopped');

  // Whenever the row said what was queued, all its buttons were disabled.
  const seen = await page.evaluate(() => window.__rowSeen);
  const busy = seen.filter((s) => s.busy);
  assert.ok(busy.length > 0, 'the row never said what was queued');
  assert.ok(busy.every((s) => s.busy === 'Stopping…'), `unexpected busy texts ${JSON.stringify(busy.map((s) => s.busy))}`);
  assert.ok(busy.every((s) => s.disabled.every(Boolean)), 'a button was enabled while the stop was queued');
  await assertNotReloaded();
});

test('Start runs the app again', async () => {
  await recordRow();
  await row().getByRole('button', { name: 'Start', exact: true }).click();
  await waitForRow({ 'run-state': 'running' });
  await row().locator('[data-testid="app-busy"]').waitFor({ state: 'detached', timeout: SLOW });
  assert.equal((await row().getByTestId('run-state').textContent())?.trim(), 'running');
  assert.equal(await row().getByRole('button', { name: 'Start', exact: true }).isDisabled(), true);
  assert.equal(await row().getByRole('button', { name: 'Stop', exact: true }).isEnabled(), true);

  const busy = (await page.evaluate(() => window.__rowSeen)).filter((s) => s.busy);
  assert.ok(busy.length > 0, 'the row never said what was queued');
  assert.ok(busy.every((s) => s.busy === 'Starting…'), `unexpected busy texts ${JSON.stringify(busy.map((s) => s.busy))}`);
  assert.ok(busy.every((s) => s.disabled.every(Boolean)), 'a button was enabled while the start was queued');
  await screenshot('apps-started');
  await assertNotReloaded();
});
