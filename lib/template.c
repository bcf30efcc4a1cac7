/* template.c - renders prompt templates with {placeholders}. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static const cJSON *
lookup(const char *name, const cJSON *arm, const cJSON *task,
       const char *input_field)
{
	const cJSON *v;

	if (!strncmp(name, "arm.", 4))
		return pb_json_path(arm, name + 4);
	if (!strncmp(name, "task.", 5))
		return pb_json_path(task, name + 5);
	if (!strcmp(name, "input"))
		return pb_json_path(task, input_field);
	if ((v = pb_json_path(arm, name)))
		return v;
	return pb_json_path(task, name);
}

char *
pb_render(const char *tmpl, const cJSON *arm, const cJSON *task,
          const char *input_field, char err[PB_ERRLEN])
{
	struct pb_buf b = { 0 };
	const char *s = tmpl, *close;
	char name[256];

	if (pb_buf_put(&b, "", 0) < 0)
		goto oom;
	while (*s) {
		size_t lit = strcspn(s, "{}\\");
		if (pb_buf_put(&b, s, lit) < 0)
			goto oom;
		s += lit;
		if (!*s)
			break;
		if (*s == '\\') { /* \n \t \\; any other backslash as written */
			const char *e = s[1] == 'n' ? "\n" : s[1] == 't' ? "\t" :
			                s[1] == '\\' ? "\\" : NULL;
			if (pb_buf_put(&b, e ? e : s, 1) < 0)
				goto oom;
			s += e ? 2 : 1;
			continue;
		}
		if (s[0] == s[1]) { /* {{ or }} */
			if (pb_buf_put(&b, s, 1) < 0)
				goto oom;
			s += 2;
			continue;
		}
		if (*s == '}') {
			snprintf(err, PB_ERRLEN, "template: unmatched '}'");
			goto fail;
		}
		close = strchr(s + 1, '}');
		if (!close || (size_t)(close - s - 1) >= sizeof name ||
		    memchr(s + 1, '{', (size_t)(close - s - 1))) {
			snprintf(err, PB_ERRLEN, "template: unclosed '{'");
			goto fail;
		}
		memcpy(name, s + 1, (size_t)(close - s - 1));
		name[close - s - 1] = '\0';
		{
			const cJSON *v = lookup(name, arm, task, input_field);
			char *text;
			if (!v) {
				snprintf(err, PB_ERRLEN, "template: no field '%s' in the "
				         "arm or the task", name);
				goto fail;
			}
			if (!(text = pb_json_text(v)))
				goto oom;
			if (pb_buf_put(&b, text, strlen(text)) < 0) {
				free(text);
				goto oom;
			}
			free(text);
		}
		s = close + 1;
	}
	return b.p;
oom:
	snprintf(err, PB_ERRLEN, "out of memory");
fail:
	free(b.p);
	return NULL;
}
