// End-to-end test of the Tasks views in headless Chromium against a running berth server:
// live progress over the tasksChanged subscription, cancelling, the live log of a task, and
// field errors of the "Run diagnostic" form. Same environment as browser.test.mjs:
//
//   BERTH_URL=http://127.0.0.1:8080 BERTH_ADMIN_USER=admin BERTH_ADMIN_PASSWORD=... \
//     npm run test:browser
//
// BERTH_SCREENSHOT_DIR, if set, receives screenshots of the Tasks view with a running task
// and of a task's detail view.
//
// The tests run in order in one page, which is loaded once: every change they wait for must
// arrive over the websocket (a marker on window proves that the page never reloads).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE_URL, USER, PASSWORD, SHOTS, TIMEOUT, launch } from './chromium.mjs';

let browser;
let context;
let page;
const pageErrors = [];

before(async () => {
  browser = await launch();
  ({ context, page } = browser);
  page.on('pageerror', (err) => {
    pageErrors.push(err);
    console.error('page error:', err);
  });

  // Sign in once; the session is the cookie of this browser profile.
  await page.goto(`${BASE_URL}/login`);
  await page.getByLabel('Username').fill(USER);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('banner').waitFor();
  await page.evaluate(() => {
    window.__berthNoReload = true;
  });
});

after(async () => {
  await browser?.close();
});

function pathOf(p) {
  return new URL(p.url()).pathname;
}

async function screenshot(name) {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function assertNotReloaded() {
  assert.equal(await page.evaluate(() => window.__berthNoReload), true, 'the page reloaded');
  assert.deepEqual(pageErrors, [], 'the page threw');
}

const row = (id) => page.locator(`tr[data-task-id="${id}"]`);

/** The row's progress, from its progressbar's aria-valuenow. */
async function percentOf(id) {
  return Number(await row(id).getByRole('progressbar').getAttribute('aria-valuenow'));
}

async function waitForState(id, state, timeout = TIMEOUT) {
  await page.locator(`tr[data-task-id="${id}"][data-state="${state}"]`).waitFor({ timeout });
  assert.equal((await row(id).getByTestId('task-state').textContent())?.trim(), state);
}

/** Fills the "Run diagnostic" form, submits it and returns the started task's id. */
async function runDiagnostic({ steps, stepMillis, lockKeys = '', fail = false }) {
  const started = page.getByTestId('started-task');
  const previous = (await started.count()) > 0 ? await started.getAttribute('data-task-id') : null;
  await page.getByLabel('Steps', { exact: true }).fill(String(steps));
  await page.getByLabel('Step ms', { exact: true }).fill(String(stepMillis));
  await page.getByLabel('Lock keys', { exact: true }).fill(lockKeys);
  await page.getByLabel('Fail', { exact: true }).setChecked(fail);
  await page.getByLabel('Crash', { exact: true }).setChecked(false);
  await page.getByRole('button', { name: 'Run diagnostic' }).click();
  await page.waitForFunction(
    (prev) => {
      const id = document.querySelector('[data-testid="started-task"]')?.getAttribute('data-task-id');
      return id && id !== prev;
    },
    previous,
    { polling: 'raf' },
  );
  const id = await started.getAttribute('data-task-id');
  assert.ok(id, 'no task id after starting a diagnostic');
  await row(id).waitFor();
  return id;
}

test('admins find Tasks in the navigation', async () => {
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Tasks' }).click();
  await page.getByRole('heading', { name: 'Tasks', level: 1 }).waitFor();
  assert.equal(pathOf(page), '/tasks');
  assert.equal(await nav.getByRole('link', { name: 'Tasks' }).getAttribute('aria-current'), 'page');
  await page.getByRole('heading', { name: 'Run diagnostic' }).waitFor();
  await assertNotReloaded();
});

test('a diagnostic task shows live progress up to 100 % and succeeded', async () => {
  const id = await runDiagnostic({ steps: 5, stepMillis: 300 });

  // Progress strictly between 0 and 100 proves that intermediate updates were pushed.
  await page.waitForFunction(
    (taskId) => {
      const bar = document.querySelector(`tr[data-task-id="${taskId}"] [role="progressbar"]`);
      const value = Number(bar?.getAttribute('aria-valuenow'));
      return value > 0 && value < 100;
    },
    id,
    { polling: 'raf' },
  );
  assert.equal(await row(id).getByTestId('task-state').textContent(), 'running');

  await waitForState(id, 'succeeded');
  assert.equal(await percentOf(id), 100);
  assert.match((await row(id).textContent()) ?? '', /100%/);
  // Finished tasks offer no Cancel button.
  assert.equal(await row(id).getByRole('button').count(), 0);
  // The newest task is on top.
  assert.equal(await page.locator('tbody tr').first().getAttribute('data-task-id'), id);
  await assertNotReloaded();
});

test('a failing diagnostic ends failed and shows why', async () => {
  const id = await runDiagnostic({ steps: 2, stepMillis: 50, fail: true });
  await waitForState(id, 'failed');
  assert.match((await row(id).textContent()) ?? '', /failed on purpose/i);
  await assertNotReloaded();
});

test('a task waiting for a lock says so; cancelling a long task shows "Cancelling…", then cancelled', async () => {
  const lock = `browser-test-${Date.now()}`;
  const long = await runDiagnostic({ steps: 50, stepMillis: 200, lockKeys: lock });
  await waitForState(long, 'running');

  // A second task on the same lock queues behind the first (pending or waiting), and its
  // message says why: it names the lock or the task holding it.
  const queued = await runDiagnostic({ steps: 1, stepMillis: 10, lockKeys: lock });
  await page.waitForFunction(
    ({ taskId, lockKey, holder }) => {
      const tr = document.querySelector(`tr[data-task-id="${taskId}"]`);
      const text = tr?.querySelector('.task-message')?.textContent ?? '';
      return ['pending', 'waiting'].includes(tr?.dataset.state) && (text.includes(lockKey) || text.includes(holder));
    },
    { taskId: queued, lockKey: lock, holder: long },
    { polling: 'raf' },
  );
  await page.waitForFunction(
    (taskId) => Number(document.querySelector(`tr[data-task-id="${taskId}"] [role="progressbar"]`)?.getAttribute('aria-valuenow')) > 0,
    long,
    { polling: 'raf' },
  );
  await screenshot('tasks-running');

  // Record every "Cancelling…" button the row shows, however briefly.
  await page.evaluate((taskId) => {
    const tr = document.querySelector(`tr[data-task-id="${taskId}"]`);
    window.__cancelSeen = [];
    const check = () => {
      for (const b of tr.querySelectorAll('button')) {
        if (b.textContent.trim() === 'Cancelling…') window.__cancelSeen.push(b.disabled);
      }
    };
    new MutationObserver(check).observe(tr, { subtree: true, childList: true, characterData: true, attributes: true });
  }, long);

  const button = row(long).getByRole('button', { name: 'Cancel', exact: true });
  await button.click();
  await waitForState(long, 'cancelled');
  const seen = await page.evaluate(() => window.__cancelSeen);
  assert.ok(seen.length > 0, 'the Cancel button never read "Cancelling…"');
  assert.ok(seen.every(Boolean), 'the "Cancelling…" button was enabled');
  assert.equal(await row(long).getByRole('button').count(), 0, 'a cancelled task still offers Cancel');
  assert.ok((await percentOf(long)) < 100, 'the cancelled task ran to the end');

  // Its lock is released: the queued task runs and finishes.
  await waitForState(queued, 'succeeded');
  await assertNotReloaded();
});

test('the detail view shows state, progress and the live log', async () => {
  const steps = 40;
  const id = await runDiagnostic({ steps, stepMillis: 60 });
  await row(id).getByRole('link').first().click();
  await page.getByRole('heading', { name: /diagnostic task/i, level: 1 }).waitFor();
  assert.equal(pathOf(page), `/tasks/${id}`);

  const log = page.getByRole('log');
  const lines = log.locator('.log-line');
  await lines.first().waitFor();
  const first = await lines.count();
  assert.ok(first < steps, `the whole log (${first} lines) was there at once`);
  // More lines arrive while the page stays open.
  await page.waitForFunction((n) => document.querySelectorAll('.log .log-line').length > n, first, { polling: 'raf' });
  await screenshot('task-detail-running');

  // The log stream completes when the task finishes.
  await page.getByTestId('log-status').filter({ hasText: 'Complete' }).waitFor();
  const all = (await lines.allTextContents()).map((l) => l.trim());
  assert.ok(all.length >= steps, `${all.length} log lines for ${steps} steps`);
  for (let i = 1; i <= steps; i++) {
    assert.equal(all.filter((l) => l.endsWith(`step ${i} of ${steps} done`)).length, 1, `step ${i} logged once`);
  }
  // Numbered from 1, in order, without gaps.
  const numbers = await lines.evaluateAll((els) => els.map((el) => Number(el.dataset.line)));
  assert.deepEqual(numbers, numbers.map((_, i) => i + 1));
  assert.equal((await page.getByTestId('task-state').textContent())?.trim(), 'succeeded');
  assert.equal(await page.getByRole('progressbar').getAttribute('aria-valuenow'), '100');
  assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 0);

  // The panel followed the log to its end.
  const gap = await log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
  assert.ok(gap < 2, `the log is not scrolled to the end (${gap}px left)`);
  assert.ok(await log.evaluate((el) => el.scrollHeight > el.clientHeight), 'the log does not overflow; scrolling untested');
  await screenshot('task-detail');
  await assertNotReloaded();
});

test('the detail of a failed task shows its error', async () => {
  await page.getByRole('link', { name: '← Tasks' }).click();
  const id = await runDiagnostic({ steps: 1, stepMillis: 10, fail: true });
  await waitForState(id, 'failed');
  await row(id).getByRole('link').first().click();
  const failure = page.getByTestId('task-error');
  await failure.waitFor();
  assert.match((await failure.textContent()) ?? '', /failed on purpose/i);
  await page.getByTestId('log-status').filter({ hasText: 'Complete' }).waitFor();
  await assertNotReloaded();
});

test('bad input shows the server error next to the field', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
  await page.locator('tbody tr').first().waitFor();
  const rowsBefore = await page.locator('tbody tr').count();

  const steps = page.getByLabel('Steps', { exact: true });
  await steps.fill('0');
  await page.getByLabel('Step ms', { exact: true }).fill('100');
  await page.getByRole('button', { name: 'Run diagnostic' }).click();

  await page.locator('input[name="steps"][aria-invalid="true"]').waitFor();
  const describedBy = await steps.getAttribute('aria-describedby');
  assert.ok(describedBy, 'the Steps field is not described by its error');
  const error = page.locator(`[id="${describedBy}"]`);
  const text = (await error.textContent())?.trim() ?? '';
  assert.match(text, /1-10000/, `unexpected error text "${text}"`);
  // Next to the field: in the same form group as the Steps label and input.
  const group = page.locator('.field', { has: page.locator('input[name="steps"]') });
  assert.equal(await group.locator(`[id="${describedBy}"]`).count(), 1);
  assert.equal(await page.locator('input[name="stepMillis"][aria-invalid="true"]').count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'steps');
  assert.equal(await page.locator('tbody tr').count(), rowsBefore, 'a task was started');
  await screenshot('tasks-bad-input');

  // Correcting the value clears the error.
  await steps.fill('1');
  await page.getByLabel('Step ms', { exact: true }).fill('10');
  await page.getByRole('button', { name: 'Run diagnostic' }).click();
  await page.locator('input[name="steps"][aria-invalid="true"]').waitFor({ state: 'detached' });
  await assertNotReloaded();
});
