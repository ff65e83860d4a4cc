// A real SMTP server for the browser tests' mail: tests/mail/smtpd.py (aiosmtpd, Debian's
// python3-aiosmtpd) on a free loopback port, with STARTTLS (a fresh certificate for
// "localhost", made with openssl) and AUTH, writing each accepted mail to DIR/N.json.
//
//   const smtp = await startSmtp();
//   const server = await startServer({ extraConfig: smtp.mailConfig });  // Parley's [mail]
//   const mail = await smtp.waitForMail((m) => m.rcpt_tos.includes('vera@example.com'), 'the copy');
//   await server.stop();  // Parley first: its [mail] files live in smtp.dir
//   await smtp.stop();    // ends the process and removes smtp.dir
//
// A mail record (see tests/mail/smtpd.py): { mail_from, rcpt_tos, tls, authenticated, headers:
// [[name, value]], content_type, plain, html }. Missing python3, aiosmtpd or openssl makes the
// test FAIL with the reason, never skip.

import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SMTPD = path.resolve(HERE, '..', 'mail', 'smtpd.py');
export const PYTHON_BIN = process.env.PYTHON_BIN || '/usr/bin/python3';

export const SMTP_USER = 'parley';
export const SMTP_PASSWORD = 'smtp-secret-1';
/** The sender Parley's [mail] section names. */
export const MAIL_FROM = 'chat@parley.example';
export const MAIL_FROM_NAME = 'Acme Support';

const MAIL_TIMEOUT_MS = 10_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Run a command to completion; rejects with its output when it fails or takes too long. */
function run(cmd, args, { cwd, timeoutMs = 20_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs} ms\n${out}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}\n${out}`));
    });
  });
}

/**
 * A self-signed certificate for "localhost" in `dir` (cert.pem, key.pem). It says CA:FALSE:
 * `openssl req -x509` otherwise marks it a CA, and rustls (Parley's TLS) refuses a CA
 * certificate as the server's own ("CaUsedAsEndEntity").
 */
async function certificate(dir) {
  await run(
    'openssl',
    [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
      '-addext', 'basicConstraints=critical,CA:FALSE',
    ],
    { cwd: dir },
  );
  return { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
}

/** The value of header `name` (case-insensitive) of a mail record: every occurrence. */
export function header(mail, name) {
  return mail.headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}

/**
 * Start the SMTP server. Returns { port, dir, cert, mailConfig, mails(), waitForMail(), stop() };
 * `mailConfig` is the `[mail]` section for Parley (like tests/it/mail.rs `mail_config()`).
 */
export async function startSmtp({ readyTimeoutMs = 10_000 } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-smtp-'));
  const inbox = path.join(dir, 'mails');
  let child = null;
  let output = '';

  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(3_000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(2_000)]);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await mkdir(inbox);
    const { cert, key } = await certificate(dir);
    const passwordFile = path.join(dir, 'smtp.pw');
    await writeFile(passwordFile, `${SMTP_PASSWORD}\n`);
    const port = await freePort();

    child = spawn(
      PYTHON_BIN,
      [SMTPD, '--port', String(port), '--dir', inbox, '--cert', cert, '--key', key,
        '--user', SMTP_USER, '--password', SMTP_PASSWORD],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr.on('data', (d) => (output += d));
    await new Promise((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(
        () => reject(new Error(`tests/mail/smtpd.py did not say "ready" within ${readyTimeoutMs} ms:\n${output}`)),
        readyTimeoutMs,
      );
      const finish = (err) => {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      const onData = (d) => {
        seen += d;
        output += d;
        if (seen.includes('ready\n')) finish();
      };
      const onExit = (code, signal) =>
        finish(
          new Error(
            `tests/mail/smtpd.py exited ${code ?? signal} before "ready" (needs ${PYTHON_BIN} and ` +
              `python3-aiosmtpd):\n${output}`,
          ),
        );
      child.stdout.on('data', onData);
      child.once('exit', onExit);
      child.once('error', (e) => finish(new Error(`${PYTHON_BIN}: ${e.message}`)));
    });
    child.stdout.on('data', (d) => (output += d));

    /** Every mail received so far, in order. */
    const mails = async () => {
      const out = [];
      for (let n = 1; ; n++) {
        let text;
        try {
          text = await readFile(path.join(inbox, `${n}.json`), 'utf8');
        } catch {
          return out;
        }
        out.push(JSON.parse(text));
      }
    };

    /** The first mail matching `pred`, polled until `timeoutMs` has passed. */
    const waitForMail = async (pred, label = 'a mail', timeoutMs = MAIL_TIMEOUT_MS) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = await mails();
        const m = got.find(pred);
        if (m) return m;
        if (Date.now() > deadline) {
          const seen = got.map((x) => `to ${x.rcpt_tos.join(', ')}: ${header(x, 'Subject').join(' ')}`);
          throw new Error(
            `no ${label} at the SMTP server within ${timeoutMs} ms; ${got.length} mail(s) arrived` +
              (seen.length ? `:\n  ${seen.join('\n  ')}` : ''),
          );
        }
        await sleep(50);
      }
    };

    const mailConfig = [
      '[mail]',
      `url = "smtp://localhost:${port}"`,
      `from = "${MAIL_FROM}"`,
      `from_name = "${MAIL_FROM_NAME}"`,
      `username = "${SMTP_USER}"`,
      `password_file = ${JSON.stringify(passwordFile)}`,
      `ca_file = ${JSON.stringify(cert)}`,
      'retry_secs = 1',
      'timeout_secs = 5',
    ].join('\n');

    return { port, dir: inbox, cert, mailConfig, mails, waitForMail, logs: () => output, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
