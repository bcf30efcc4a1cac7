/* pb.h - the promptbandit library, the one header cmd/ includes: its four
 * layers, each with a header of its own, base <- bandit and base <- llm
 * <- score (an arrow points at what a layer uses).  What only lib/ calls
 * is in internal.h.
 *
 * Conventions, for every function below:
 *  - lib/ never prints and never exits.  A function that can fail returns
 *    0 on success and -1 on failure, and writes a one-line message without
 *    a trailing newline into the caller's buffer err[PB_ERRLEN].
 *  - Strings returned through pointers are malloc'd and owned by the caller
 *    unless the comment says otherwise.
 *  - JSON values are cJSON trees; a function that takes a cJSON * does not
 *    take ownership unless it says so.
 */
#ifndef PB_H
#define PB_H

#include "base.h"
#include "bandit.h"
#include "llm.h"
#include "score.h"

#endif
