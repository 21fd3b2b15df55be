/**
 * Boots jasmine's globals (`describe`, `it`, `expect`) before any of
 * tfjs-core's spec files is evaluated: they declare their specs at load time.
 * Part of the bundle that `suites.ts` builds; not run by vitest.
 */
import Jasmine from 'jasmine';

export const runner = new Jasmine();
runner.exitOnCompletion = false;
// tfjs-core's jasmine_util sets 20 s on a jasmine instance of its own; set it on ours.
runner.jasmine.DEFAULT_TIMEOUT_INTERVAL = 20_000;
// The same order every run, so a failure reproduces.
runner.env.configure({ random: false });
