/* template.c - unit tests of the prompt template renderer. */
#include <stdlib.h>

#include "../../lib/pb.h"
#include "tap.h"

int
main(void)
{
	cJSON *arm = cJSON_Parse("{\"id\":\"t\",\"prefix\":\"Be Turing.\",\"n\":3,"
	                         "\"style\":{\"tone\":\"dry\"}}");
	cJSON *task = cJSON_Parse("{\"id\":\"q1\",\"question\":\"2+2?\",\"prefix\":\"task's\","
	                          "\"answer\":4}");
	char err[PB_ERRLEN], *s;

#define R(t, want, desc) do { s = pb_render(t, arm, task, "question", err); \
	is_str(s, want, desc); free(s); } while (0)
	R("{prefix}\n\n{input}", "Be Turing.\n\n2+2?", "prefix and input");
	R("{task.prefix} {arm.prefix}", "task's Be Turing.", "arm. and task. qualify");
	R("{prefix}", "Be Turing.", "a bare name looks in the arm first");
	R("{answer}/{n}", "4/3", "numbers render without quotes or decimals");
	R("{{literal}} {id}", "{literal} t", "doubled braces are literal");
	R("{arm.style.tone}", "dry", "dotted paths reach nested fields");
	R("{style}", "{\"tone\":\"dry\"}", "objects render as compact JSON");
	R("", "", "an empty template");
	s = pb_render("{nope}", arm, task, "question", err);
	ok(!s, "an unknown placeholder fails");
	is_str(err, "template: no field 'nope' in the arm or the task", "and says which");
	s = pb_render("{prefix", arm, task, "question", err);
	ok(!s, "an unclosed brace fails");
	is_str(err, "template: unclosed '{'", "and says so");
	s = pb_render("a } b", arm, task, "question", err);
	ok(!s && !strcmp(err, "template: unmatched '}'"), "a stray } fails");
	cJSON_Delete(arm);
	cJSON_Delete(task);
	return tap_done();
}
