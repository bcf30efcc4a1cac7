/* jsonl.c - unit tests: the record loop's helpers that a message or a
 * state depends on. */
#include "../../lib/pb.h"
#include "tap.h"

int
main(void)
{
	ok(pb_utf8_valid(""), "the empty string");
	ok(pb_utf8_valid("plain ascii"), "ASCII");
	ok(pb_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "two, three and four bytes");
	ok(!pb_utf8_valid("\xff\xfe"), "bytes that start nothing");
	ok(!pb_utf8_valid("\xc3"), "a sequence cut short");
	ok(!pb_utf8_valid("\xc3\x28"), "a continuation that is not one");
	ok(!pb_utf8_valid("\xc0\xaf"), "an overlong slash");
	ok(!pb_utf8_valid("\xe0\x80\xaf"), "an overlong three-byte form");
	ok(!pb_utf8_valid("\xed\xa0\x80"), "a surrogate");
	ok(!pb_utf8_valid("\xf4\x90\x80\x80"), "past U+10FFFF");
	ok(pb_utf8_valid("\xf4\x8f\xbf\xbf"), "U+10FFFF itself");
	return tap_done();
}
