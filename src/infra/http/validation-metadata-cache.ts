import { getMetadataStorage } from 'class-validator';

type Storage = ReturnType<typeof getMetadataStorage>;
type TargetMetadatas = Storage['getTargetValidationMetadatas'];
type ValidationMetadata = ReturnType<TargetMetadatas>[number];
type Grouped = Record<string, ValidationMetadata[]>;

const CACHED = Symbol('validation metadata cached');

/**
 * Memoises class-validator's metadata lookups, which it recomputes for every object it
 * validates: `getTargetValidationMetadatas` scans every decorated class for superclasses (an
 * `instanceof` per DTO class, several hundred here) and `groupByPropertyName` regroups the
 * result. Both depend only on decorators, which register when their classes load; any new
 * registration clears the memo, so a class loaded later is still seen. class-validator reads the
 * returned arrays and never changes them. Installed once per process (docs/ARCHITECTURE.md).
 */
export function cacheValidationMetadata(storage: Storage = getMetadataStorage()): void {
  const patched = storage as Storage & { [CACHED]?: true };
  if (patched[CACHED]) return;
  patched[CACHED] = true;
  let byTarget = new Map<unknown, Map<string, ValidationMetadata[]>>();
  let grouped = new WeakMap<ValidationMetadata[], Grouped>();
  const clear = (): void => {
    byTarget = new Map();
    grouped = new WeakMap();
  };
  const targetMetadatas: TargetMetadatas = storage.getTargetValidationMetadatas.bind(storage);
  const groupByPropertyName = storage.groupByPropertyName.bind(storage);
  const addValidationMetadata = storage.addValidationMetadata.bind(storage);
  storage.addValidationMetadata = (metadata) => {
    clear();
    addValidationMetadata(metadata);
  };
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    const key = `${schema}\n${always}\n${strictGroups}\n${groups === undefined ? '' : groups.join('\n')}`;
    let forTarget = byTarget.get(target);
    if (forTarget === undefined) byTarget.set(target, (forTarget = new Map<string, ValidationMetadata[]>()));
    let found = forTarget.get(key);
    if (found === undefined) {
      found = targetMetadatas(target, schema, always, strictGroups, groups);
      forTarget.set(key, found);
    }
    return found;
  };
  storage.groupByPropertyName = (metadatas) => {
    let found = grouped.get(metadatas);
    if (found === undefined) {
      found = groupByPropertyName(metadatas);
      grouped.set(metadatas, found);
    }
    return found;
  };
}
