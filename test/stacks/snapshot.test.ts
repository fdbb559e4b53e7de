import { normalizeTemplate } from '../helpers/normalize';
import { ENVIRONMENTS, synth } from '../helpers/synth';

// One normalised snapshot per stack per environment. A diff here means the infrastructure changed: read it,
// then `npm run test:update` if the change is intended. Fine-grained assertions live beside the constructs.
describe.each(ENVIRONMENTS)('%s', (env) => {
  const result = synth(env);
  test.each(['network', 'data', 'compute', 'monitoring'] as const)('%s stack matches the snapshot', (part) => {
    expect(normalizeTemplate(result[part].toJSON())).toMatchSnapshot();
  });
});
