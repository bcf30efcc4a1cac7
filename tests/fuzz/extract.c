/* extract.c - fuzzes every answer extractor of lib/extract.c and lib/extract_number.c (number,
 * bool, choice, normalising) and the readers of a program's reward and
 * a judge's verdict (lib/judge.c).  The input is the response text. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pb_reward_scale unit = { 0, 1 }, five = { 1, 5 };
	static const struct pb_judge_scale ten = { 10 }, pf = { 0 };
	char *t = fuzz_str(data, size), buf[64], raw[64], why[PB_ERRLEN], c;
	double v;
	int b;
	unsigned f;
	cJSON *j;

	pb_extract_number(t, &v, buf, sizeof buf);
	pb_extract_number(t, &v, NULL, 0);
	pb_extract_bool(t, &b);
	pb_extract_choice(t, &c);
	for (f = 0; f < 8; f++)
		free(pb_normalize(t, f));
	pb_judge_verdict(&ten, t, &v, buf, why);
	pb_judge_verdict(&pf, t, &v, buf, why);
	if ((j = cJSON_Parse(t))) {
		pb_reward_value(j, &unit, &v, raw, why);
		pb_reward_value(j, &five, &v, raw, why);
		cJSON_Delete(j);
	}
	free(t);
	return 0;
}
