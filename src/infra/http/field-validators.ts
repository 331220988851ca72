import { applyDecorators } from '@nestjs/common';
import { IsISO8601, IsString, Matches, MaxLength, ValidateBy } from 'class-validator';

/** Market slugs as the migrations write them, e.g. `nvidia-h100-80gb`. */
export const MARKET_SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
/** GB/T 2260 division codes: six digits. */
export const DIVISION_CODE_PATTERN = /^\d{6}$/;
// An instant with an explicit offset: a bare local time would mean whatever the server's zone is.
const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;
// A surrogate half without its partner cannot be stored as UTF-8.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A market slug in a body or query; whether the market exists is the service's question. */
export const IsMarketSlug = (): PropertyDecorator =>
  applyDecorators(
    IsString(),
    Matches(MARKET_SLUG_PATTERN, { message: '$property must be a market slug such as "nvidia-h100-80gb"' }),
  );

/** A province or city code (GB/T 2260, six digits). */
export const IsDivisionCode = (options: { each?: boolean } = {}): PropertyDecorator =>
  applyDecorators(
    IsString(options),
    Matches(DIVISION_CODE_PATTERN, {
      ...options,
      message: '$property must be GB/T 2260 codes of six digits such as "520000"',
    }),
  );

/** An ISO 8601 instant with seconds precision or finer and an explicit offset (`Z` or `+08:00`). */
export const IsInstant = (): PropertyDecorator =>
  applyDecorators(
    IsString(),
    MaxLength(40),
    Matches(INSTANT_PATTERN, {
      message: '$property must be an ISO 8601 instant with an offset, such as "2027-03-01T08:00:00Z"',
    }),
    IsISO8601({ strict: true }, { message: '$property must be a valid calendar date and time' }),
  );

/** Text without control characters or unpaired surrogates; `multiline` also allows tabs and line breaks. */
export const IsSafeText = (options: { multiline?: boolean } = {}): PropertyDecorator =>
  ValidateBy({
    name: 'isSafeText',
    validator: {
      validate: (value: unknown): boolean =>
        typeof value === 'string' &&
        !hasControlCharacter(value, options.multiline === true) &&
        !LONE_SURROGATE.test(value),
      defaultMessage: (): string =>
        options.multiline === true
          ? '$property must not contain control characters other than tabs and line breaks, or unpaired surrogates'
          : '$property must not contain control characters or unpaired surrogates',
    },
  });

// C0 controls and DEL: Postgres refuses NUL outright, and the rest have no place in names. Free
// text may keep tabs and line breaks.
function hasControlCharacter(value: string, multiline: boolean): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code >= 0x20 && code !== 0x7f) continue;
    if (multiline && (code === 0x09 || code === 0x0a || code === 0x0d)) continue;
    return true;
  }
  return false;
}
