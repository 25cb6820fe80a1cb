// End-to-end test of the SPA in headless Chromium against a running berth server.
//
//   BERTH_URL=http://127.0.0.1:8080 BERTH_ADMIN_USER=admin BERTH_ADMIN_PASSWORD=... \
//     npm run test:browser
//
// BERTH_URL             the server (serving the built SPA at / and the API at /graphql); required
// BERTH_ADMIN_USER      an owner account (default "admin")
// BERTH_ADMIN_PASSWORD  its password; required
// CHROMIUM_PATH         the browser (default /usr/bin/chromium, Debian's package)
// BERTH_SCREENSHOT_DIR  if set, screenshots of the login page and the apps view go there
//
// The apps view shows its empty state on a fresh server, its list once apps.test.mjs (which
// runs first: the files run one at a time, in name order) has installed one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BASE_URL, USER, PASSWORD, SHOTS, TIMEOUT, launch } from './chromium.mjs';

let browser;
let context;
let page;

before(async () => {
  browser = await launch();
  ({ context, page } = browser);
  page.on('pageerror', (err) => console.error('page error:', err));
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

test('signed out, a client route leads to the login page', async () => {
  await page.goto(`${BASE_URL}/apps`);
  await page.getByLabel('Username').waitFor();
  assert.equal(pathOf(page), '/login');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/apps');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await screenshot('login');
});

test('a wrong password shows an error and stays on the login page', async () => {
  await page.goto(`${BASE_URL}/`);
  await page.getByLabel('Username').fill(USER);
  await page.getByLabel('Password').fill(`${PASSWORD}-wrong`);
  // A marker on window survives only if the page is not reloaded.
  await page.evaluate(() => {
    window.__berthNoReload = true;
  });
  await page.getByRole('button', { name: 'Sign in' }).click();

  const alert = page.getByRole('alert');
  await alert.waitFor();
  const message = (await alert.textContent())?.trim() ?? '';
  assert.notEqual(message, '');
  assert.equal(pathOf(page), '/login');
  assert.equal(await page.evaluate(() => window.__berthNoReload), true, 'the page reloaded');
  assert.equal(await page.getByLabel('Username').inputValue(), USER);
  assert.equal(await page.getByRole('banner').count(), 0, 'the shell is shown after a failed login');
  await screenshot('login-error');
});

test('the right password shows the user, the role and the apps view', async () => {
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();

  const banner = page.getByRole('banner');
  await banner.waitFor();
  const appsView = page.getByText('No apps installed yet').or(page.getByRole('table', { name: /^Apps/ }));
  await appsView.first().waitFor();
  assert.equal(pathOf(page), '/apps');
  assert.equal((await page.getByTestId('current-user').textContent())?.trim(), USER);
  assert.match((await page.getByTestId('current-role').textContent()) ?? '', /^\s*owner\s*$/i);
  const header = (await banner.textContent()) ?? '';
  assert.ok(header.includes(USER), `header "${header}" lacks the user name`);
  await page.getByRole('heading', { name: /^Apps/ }).waitFor();
  await screenshot('apps');

  // The session is the server's cookie: it survives a reload.
  await page.reload();
  await appsView.first().waitFor();
  assert.equal((await page.getByTestId('current-user').textContent())?.trim(), USER);
});

test('logout returns to the login page', async () => {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Username').waitFor();
  assert.equal(pathOf(page), '/login');
  assert.equal(await page.getByRole('banner').count(), 0);

  // And the server forgot the session: a reload stays signed out.
  await page.goto(`${BASE_URL}/apps`);
  await page.getByLabel('Password').waitFor();
  assert.equal(pathOf(page), '/login');
});
