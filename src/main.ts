#!/usr/bin/env node
/**
 * The command line (`kafka-ts-broker`, or `node dist/main.js`):
 *
 *   kafka-ts-broker [--config server.properties] [--override key=value ...]   one broker
 *   kafka-ts-broker cluster --brokers 3 [--dir ./data] [--override key=value ...]
 *   kafka-ts-broker --help | --version
 *
 * Without arguments it starts a single broker with the embedded defaults (client listener
 * 127.0.0.1:9092, controller 127.0.0.1:9093, data under ./data).
 */
import { readFileSync } from 'node:fs';
import { parseArgs as parseFlags } from 'node:util';
import { startCluster } from './api/start-cluster.js';
import { Broker } from './main/broker.js';
import { ConfigError, loadConfig, parseArgs } from './shared/config.js';
import { SETTINGS } from './shared/config-settings.js';
import { rootLogger } from './shared/logger.js';

const HELP = `Usage:
  kafka-ts-broker [--config FILE] [--override KEY=VALUE ...]
      Start one broker (combined broker and controller node).
  kafka-ts-broker cluster [--brokers N] [--dir DIR] [--override KEY=VALUE ...]
      Start a local cluster of N broker processes (default 3) on free loopback ports and
      print its bootstrap list; Ctrl-C stops them all (controlled shutdown).
  kafka-ts-broker --help | --version

Options:
  -c, --config FILE         Kafka server.properties to read (a bare FILE argument works too).
  --override KEY=VALUE      A setting on top of the file; repeatable.
  --brokers N               (cluster) How many brokers; all vote in the metadata quorum.
  --dir DIR                 (cluster) Parent of the brokers' data dirs (DIR/broker-N), kept
                            after stop; default a temp dir removed on stop.
  -h, --help                This text.
  -v, --version             The version.

Environment: LOG_LEVEL (info), LOG_FORMAT=json|pretty (pretty on a terminal).

Settings (Kafka's names; meanings in the Configuration table of README.md):
${Object.entries(SETTINGS)
  .map(([k, s]) => `  ${k}${s.default === '' ? '' : ` = ${s.default}`}`)
  .join('\n')}
`;

function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function usageError(message: string): never {
  process.stderr.write(`${message}\nkafka-ts-broker --help lists the options.\n`);
  process.exit(2);
}

async function broker(argv: string[]): Promise<void> {
  let config;
  try {
    config = loadConfig(parseArgs(argv));
  } catch (e) {
    if (e instanceof ConfigError) usageError(e.message);
    throw e;
  }
  if (config.ignored.length) rootLogger.info({ settings: config.ignored }, 'ignoring Kafka settings that do not apply to this broker');
  let b: Broker;
  try {
    b = await Broker.start(config);
  } catch (e) {
    rootLogger.fatal({ err: (e as Error).message }, 'broker failed to start');
    process.stderr.write(`broker failed to start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (exitCode: number): void => {
    if (stopping) return;
    stopping = true;
    b.stop().then(
      () => process.exit(exitCode),
      (e: Error) => {
        rootLogger.error({ err: e.message }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  onStopSignal(() => stop(0));
  process.on('SIGHUP', () => b.reloadCertificates());
  // A dead worker thread leaves this broker unable to serve: hand its work to the others, exit non-zero.
  void b.failed.then((reason) => {
    rootLogger.fatal({ reason }, 'a worker thread died; shutting down');
    stop(1);
  });
}

async function cluster(argv: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseFlags({ args: argv, options: { brokers: { type: 'string', default: '3' }, dir: { type: 'string' }, override: { type: 'string', multiple: true } } }));
  } catch (e) {
    usageError((e as Error).message);
  }
  const brokers = Number(values.brokers);
  if (!Number.isInteger(brokers) || brokers < 1) usageError(`--brokers: '${values.brokers}' is not a positive integer`);
  const config: Record<string, string> = {};
  for (const o of values.override ?? []) {
    const eq = o.indexOf('=');
    if (eq <= 0) usageError(`--override '${o}' is not key=value`);
    config[o.slice(0, eq)] = o.slice(eq + 1);
  }
  let c;
  try {
    c = await startCluster({ brokers, dir: values.dir, config, stdio: 'inherit' });
  } catch (e) {
    process.stderr.write(`cluster failed to start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`cluster of ${brokers} brokers ready; bootstrap servers: ${c.bootstrap}\n`);
  // Ctrl-C reaches the brokers too (same process group); each stops once either signal arrives.
  onStopSignal(() =>
    c.stop().then((codes) => {
      const failed = [...codes].filter(([, code]) => code !== 0);
      process.stdout.write(failed.length ? `brokers ${failed.map(([id, code]) => `${id} (exit ${code})`).join(', ')} did not stop cleanly\n` : 'cluster stopped\n');
      process.exit(failed.length ? 1 : 0);
    }),
  );
}

function onStopSignal(stop: () => void): void {
  let stopping = false;
  const on = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    rootLogger.info({ signal }, 'shutting down');
    stop();
  };
  process.on('SIGTERM', () => on('SIGTERM'));
  process.on('SIGINT', () => on('SIGINT'));
}

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) process.stdout.write(HELP);
else if (argv.includes('--version') || argv.includes('-v')) process.stdout.write(`${version()}\n`);
else if (argv[0] === 'cluster') void cluster(argv.slice(1));
else void broker(argv);
