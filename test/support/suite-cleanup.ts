import { killSpawnedProcesses } from './processes';
import { scaled } from './wait-for';

// Every test file: the default timeout stretched by the machine's load, and no spawned process
// outliving the file, whether its tests passed, failed or timed out.
jest.setTimeout(scaled(30_000));

afterAll(async () => {
  await killSpawnedProcesses();
});
