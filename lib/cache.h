/* cache.h - fragment of pb.h: SHA-256 and the on-disk response cache.
 * To be merged into lib/pb.h (then this file goes, and lib/sha256.c,
 * lib/cache.c and tests/unit/cache.c include pb.h alone). */
#ifndef PB_CACHE_H
#define PB_CACHE_H

#include "pb.h"

/* ===================================================================== */
/* sha256.c: SHA-256 (FIPS 180-4)                                        */
/* ===================================================================== */

struct pb_sha256 {
	uint32_t h[8];
	uint64_t len;           /* bytes hashed so far */
	unsigned char buf[64];  /* a partial block */
	size_t nbuf;
};

/* init, any number of updates (of any sizes: the digest depends only on
 * the bytes), then final, which writes the 32-byte digest; the context
 * must be initialised again before reuse.  final_hex writes it as 64
 * lowercase hex digits and a NUL.  pb_sha256_hex hashes one buffer. */
void pb_sha256_init(struct pb_sha256 *c);
void pb_sha256_update(struct pb_sha256 *c, const void *p, size_t n);
void pb_sha256_final(struct pb_sha256 *c, unsigned char out[32]);
void pb_sha256_final_hex(struct pb_sha256 *c, char out[65]);
void pb_sha256_hex(const void *p, size_t n, char out[65]);

/* ===================================================================== */
/* cache.c: the response cache (pb-query), one JSON file per request     */
/* ===================================================================== */

/* Layout: DIR/ab/abcdef....json, where abcdef... is the key and ab its
 * first two hex digits.  Each file is one JSON object
 *   {"format":"pb-cache-1","key":KEY,"created":UNIX-TIME,
 *    "sha256":HEX,"response":VALUE}
 * where sha256 is the hash of VALUE's canonical text (pb_json_canonical).
 * Entries are written to a temp file beside their place and renamed over
 * it, so a reader sees a whole old entry or a whole new one; on reading,
 * an entry is believed only if it parses and its format, key and
 * checksum agree, so a damaged entry is a miss, never a wrong answer.
 * Folders the cache makes are 0700 and entries 0600, whatever the umask.
 * A struct pb_cache is read-only once open: threads may share it. */
#define PB_CACHE_FORMAT "pb-cache-1"

struct pb_cache;

/* The default folder: $XDG_CACHE_HOME/promptbandit if that is set to an
 * absolute path, else $HOME/.cache/promptbandit.  Returns a malloc'd
 * path, or NULL with err set when neither is usable. */
char *pb_cache_default_dir(char err[PB_ERRLEN]);

/* Opens the cache in dir, making it (and missing parents) with mode 0700
 * if need be.  An existing folder keeps its mode.  Returns NULL with err
 * set if dir cannot be made or is not a folder.  Close with
 * pb_cache_close (NULL is fine). */
struct pb_cache *pb_cache_open(const char *dir, char err[PB_ERRLEN]);
void pb_cache_close(struct pb_cache *c);

/* The folder as given to pb_cache_open (trailing slashes dropped); owned
 * by c. */
const char *pb_cache_dir(const struct pb_cache *c);

/* The key of one request: 64 hex digits of SHA-256 over, in turn, the
 * format tag "pb-cache-1", endpoint (the full URL posted to), api
 * ("openai" or "anthropic"), the canonical text of body (the request
 * body as sent; pb_json_canonical) and sample written in decimal, each
 * preceded by its length as 8 big-endian bytes, so no two different
 * inputs run together into the same bytes.  sample tells apart draws
 * that are meant to differ: pass 0 at temperature 0, else the record's
 * pull id (or "sample" field).  The API key is not an input and must
 * never be put into endpoint or body: entries are shared by whoever can
 * read the folder, and keys name files.  NULL endpoint or api count as
 * "", NULL body as null.  Never fails and never allocates. */
void pb_cache_key(const char *endpoint, const char *api, const cJSON *body,
                  long sample, char key[65]);

/* Looks key up.  Returns 1 with a malloc'd copy of the stored value (the
 * value's compact JSON text; free with free()) in *value, 0 on a miss,
 * or -1 with err set on a real error (a bad key, a folder that cannot
 * be read, out of memory).  *value is NULL unless 1 is returned.  An
 * entry that is truncated, not JSON, or disagrees in format tag, key or
 * checksum counts as a miss and is left for the next put to replace (not
 * removed: a concurrent put may have just renamed a good entry there). */
int pb_cache_get(struct pb_cache *c, const char *key, char **value,
                 char err[PB_ERRLEN]);

/* Stores value, a JSON text (the provider's successful response: callers
 * store successes only), under key, replacing any entry there.  Fails
 * with err set on a bad key, a value that is not JSON, or an I/O error;
 * the cache is then as it was (a failure leaves no temp file behind).
 * Several processes may put and get the same key at once: each put
 * renames a whole entry into place atomically and the last one wins. */
int pb_cache_put(struct pb_cache *c, const char *key, const char *value,
                 char err[PB_ERRLEN]);

/* The canonical text of a JSON value: compact, object members sorted by
 * key (bytewise; members with equal keys keep their order), numbers in
 * the shortest of %.15g, %.16g and %.17g that reads back as the same
 * double (so 0.7, 0.70 and 7e-1 are one; -0 is 0; infinities null),
 * strings with " and \ escaped, \b \f \n \r \t as such, other control
 * characters as \u00xx and all other bytes as they are.  (For ASCII
 * strings and integers, that is Python's json.dumps(v, sort_keys=True,
 * separators=(",", ":")).)  The same tree always gives the same text,
 * whatever order its keys were built in.  Returns a malloc'd string, or
 * NULL when out of memory. */
char *pb_json_canonical(const cJSON *v);

#endif
