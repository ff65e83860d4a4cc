// Starts a real Parley server for one test: a fresh temporary config and data dir, an owner
// created through the CLI, `parley serve` on a free loopback port, and a stop() that ends the
// process and removes the temporary directory.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

export const PARLEY_BIN =
  process.env.PARLEY_BIN ||
  path.join(REPO, 'target', 'x86_64-unknown-linux-gnu', 'debug', 'parley');

export const OWNER = {
  email: 'owner@example.com',
  name: 'Olive Owner',
  password: 'correct-horse-battery',
};

/** A free TCP port on 127.0.0.1 (open a server on port 0, read the port, close it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Run a command to completion, feeding `input` on stdin; resolves { code, stdout, stderr }. */
function run(cmd, args, { input = '', timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start a server. Returns { baseUrl, port, dir, config, logs(), restart(), stop() }.
 * `extraConfig`: TOML lines appended to the config file (e.g. "[chat]\nagent_grace_secs = 1").
 * Throws (so the test fails) when the binary is missing, `owner create` fails, or /healthz
 * does not answer 200 within `readyTimeoutMs`.
 */
export async function startServer({ readyTimeoutMs = 15_000, extraConfig = '' } = {}) {
  try {
    await access(PARLEY_BIN, fsConstants.X_OK);
  } catch {
    throw new Error(
      `Parley binary not found or not executable at ${PARLEY_BIN}: run \`cargo build\` in ${REPO} or set PARLEY_BIN`,
    );
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-browser-'));
  let child = null;
  let output = '';
  const cleanup = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await Promise.race([exited, sleep(2_000)]);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const port = await freePort();
    const config = path.join(dir, 'parley.toml');
    await writeFile(
      config,
      [
        '[server]',
        `listen = "127.0.0.1:${port}"`,
        '[storage]',
        `data_dir = "${path.join(dir, 'data')}"`,
        '[log]',
        'level = "info"',
        extraConfig,
        '',
      ].join('\n'),
    );

    const created = await run(
      PARLEY_BIN,
      ['owner', 'create', '--email', OWNER.email, '--name', OWNER.name, '--config', config],
      { input: `${OWNER.password}\n` },
    );
    if (created.code !== 0) {
      throw new Error(
        `owner create exited ${created.code ?? created.signal}\nstdout: ${created.stdout}\nstderr: ${created.stderr}`,
      );
    }

    const baseUrl = `http://127.0.0.1:${port}`;
    /** Start `parley serve` on the same config and data, and wait until /healthz answers. */
    const launch = async () => {
      child = spawn(PARLEY_BIN, ['serve', '--config', config], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const spawnError = new Promise((_, reject) => child.once('error', reject));
      spawnError.catch(() => {});

      const deadline = Date.now() + readyTimeoutMs;
      let last = 'no answer';
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`parley serve exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
        }
        try {
          const res = await Promise.race([
            fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1_000) }),
            spawnError,
          ]);
          if (res.status === 200) break;
          last = `status ${res.status}`;
        } catch (e) {
          last = e.message;
        }
        if (Date.now() > deadline) {
          throw new Error(`/healthz not 200 after ${readyTimeoutMs} ms (${last}):\n${output}`);
        }
        await sleep(100);
      }
    };
    await launch();

    /** Stop the server (SIGTERM, waiting for it to exit) and start it again on the same data. */
    const restart = async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
      }
      await launch();
    };

    return {
      baseUrl,
      port,
      dir,
      config,
      logs: () => output,
      restart,
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
