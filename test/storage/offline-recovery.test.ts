import t from 'tap';
import { OfflineRecovery } from '../../src/workers/partition/log/offline-recovery.js';

const delays = { firstProbeMs: 100, maxProbeMs: 350 };

t.test('a log comes back through a probe and a recovery', async (t) => {
  const m = new OfflineRecovery(delays);
  t.equal(m.state, 'online');
  t.same(m.failed(), { kind: 'wait', ms: 100 }, 'waits before the first probe');
  t.equal(m.state, 'offline');
  t.same(m.due(), { kind: 'probe' });
  t.equal(m.state, 'probing');
  t.same(m.probed(true), { kind: 'recover' });
  t.equal(m.state, 'recovering');
  t.same(m.recovered(true), { kind: 'online', attempts: 1 });
  t.equal(m.state, 'online');
});

t.test('failed probes and recoveries back off up to the cap, and count the probes', async (t) => {
  const m = new OfflineRecovery(delays);
  m.failed();
  m.due();
  t.same(m.probed(false), { kind: 'wait', ms: 200 });
  t.equal(m.state, 'offline');
  m.due();
  t.same(m.probed(false), { kind: 'wait', ms: 350 }, 'doubling stops at the cap');
  m.due();
  m.probed(true);
  t.same(m.recovered(false), { kind: 'wait', ms: 350 }, 'a failed recovery waits for another probe');
  t.equal(m.state, 'offline');
  m.due();
  m.probed(true);
  t.same(m.recovered(true), { kind: 'online', attempts: 4 });
});

t.test('a new failure after coming back starts over from the first delay', async (t) => {
  const m = new OfflineRecovery(delays);
  m.failed();
  m.due();
  m.probed(false);
  m.due();
  m.probed(true);
  m.recovered(true);
  t.same(m.failed(), { kind: 'wait', ms: 100 });
  m.due();
  m.probed(true);
  t.same(m.recovered(true), { kind: 'online', attempts: 1 });
});

t.test('events that do not apply in a state change nothing', async (t) => {
  const m = new OfflineRecovery(delays);
  for (const step of [m.due(), m.probed(true), m.recovered(true)]) t.same(step, { kind: 'none' });
  t.equal(m.state, 'online');
  m.failed();
  t.same(m.failed(), { kind: 'none' }, 'a second failure while offline');
  t.same(m.probed(true), { kind: 'none' }, 'a probe result with no probe under way');
  t.same(m.recovered(true), { kind: 'none' });
  t.equal(m.state, 'offline');
  m.due();
  t.same(m.due(), { kind: 'none' }, 'a timer while probing');
  t.same(m.failed(), { kind: 'none' }, 'a failure while probing');
  t.same(m.recovered(true), { kind: 'none' });
  m.probed(true);
  t.same(m.failed(), { kind: 'none' }, 'a failure while recovering: the recovery reports it');
  t.same(m.probed(false), { kind: 'none' });
  t.equal(m.state, 'recovering');
});
