/**
 * Entry point: `node dist/main.js [--config server.properties] [--override key=value ...]`.
 * Without arguments it starts a single broker with the embedded defaults
 * (client listener 127.0.0.1:9092, controller 127.0.0.1:9093, data under ./data).
 */
import { Broker } from './main/broker.js';
import { ConfigError, loadConfig, parseArgs } from './shared/config.js';
import { rootLogger } from './shared/logger.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(parseArgs(process.argv.slice(2)));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (config.ignored.length) rootLogger.info({ settings: config.ignored }, 'ignoring Kafka settings that do not apply to this broker');
  let broker: Broker;
  try {
    broker = await Broker.start(config);
  } catch (e) {
    rootLogger.fatal({ err: (e as Error).message }, 'broker failed to start');
    process.stderr.write(`broker failed to start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (exitCode: number): void => {
    if (stopping) return;
    stopping = true;
    broker.stop().then(
      () => process.exit(exitCode),
      (e: Error) => {
        rootLogger.error({ err: e.message }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: string): void => {
    rootLogger.info({ signal }, 'shutting down');
    stop(0);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  // A dead worker thread leaves this broker unable to serve: hand its work to the others, exit non-zero.
  void broker.failed.then((reason) => {
    rootLogger.fatal({ reason }, 'a worker thread died; shutting down');
    stop(1);
  });
}

void main();
