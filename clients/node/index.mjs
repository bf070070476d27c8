// ESM entry point: the same functions as index.cjs.
import hush from './index.cjs';

export const { config, fetch, HushSecretsError, VERSION } = hush;
export default hush;
