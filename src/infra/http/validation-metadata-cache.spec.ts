import { Type } from 'class-transformer';
import { plainToInstance } from 'class-transformer';
import {
  getMetadataStorage,
  IsInt,
  IsString,
  MetadataStorage,
  Min,
  ValidateNested,
  validateSync,
} from 'class-validator';
import { cacheValidationMetadata } from './validation-metadata-cache';

class Inner {
  @IsInt()
  @Min(1)
  gpus!: number;
}

class Base {
  @IsString()
  market!: string;
}

class Outer extends Base {
  @ValidateNested()
  @Type(() => Inner)
  inner!: Inner;
}

describe('cacheValidationMetadata', () => {
  it('answers every lookup as class-validator does, computing each once', () => {
    const storage = new MetadataStorage();
    const plain = new MetadataStorage();
    for (const target of [Base, Outer, Inner]) {
      // The decorators above registered on the global storage; copy them to two of our own.
      for (const metadata of getMetadataStorage().getTargetValidationMetadatas(target, '', false, false)) {
        storage.addValidationMetadata(metadata);
        plain.addValidationMetadata(metadata);
      }
    }
    const spy = jest.spyOn(storage, 'getTargetValidationMetadatas');
    cacheValidationMetadata(storage);
    const first = storage.getTargetValidationMetadatas(Outer, '', false, false);
    const again = storage.getTargetValidationMetadatas(Outer, '', false, false);
    expect(again).toBe(first);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(first).toEqual(plain.getTargetValidationMetadatas(Outer, '', false, false));
    // Another schema or other groups are other lookups.
    expect(storage.getTargetValidationMetadatas(Outer, 'Outer', false, false, ['g'])).toEqual(
      plain.getTargetValidationMetadatas(Outer, 'Outer', false, false, ['g']),
    );
    expect(storage.groupByPropertyName(first)).toBe(storage.groupByPropertyName(first));
    expect(storage.groupByPropertyName(first)).toEqual(plain.groupByPropertyName(first));
  });

  it('forgets what it memoised when a decorator registers later', () => {
    cacheValidationMetadata();
    class Late {
      name!: string;
    }
    expect(getMetadataStorage().getTargetValidationMetadatas(Late, '', false, false)).toEqual([]);
    IsString()(Late.prototype, 'name');
    expect(getMetadataStorage().getTargetValidationMetadatas(Late, '', false, false)).toHaveLength(1);
  });

  it('validates as before once installed on the global storage', () => {
    cacheValidationMetadata();
    const ok = plainToInstance(Outer, { market: 'm', inner: { gpus: 2 } });
    const bad = plainToInstance(Outer, { market: 3, inner: { gpus: 0 } });
    for (let i = 0; i < 2; i += 1) {
      expect(validateSync(ok, { whitelist: true, forbidNonWhitelisted: true })).toEqual([]);
      const errors = validateSync(bad, { whitelist: true, forbidNonWhitelisted: true });
      expect(errors.map((e) => e.property).sort()).toEqual(['inner', 'market']);
      expect(errors.find((e) => e.property === 'inner')?.children?.[0]?.constraints).toHaveProperty('min');
    }
  });
});
