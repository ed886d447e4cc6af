/* A classifier's evaluation printed for people: per-class accuracy and the
 * confusion matrix. Shared by `train --mode classifier`, `train --mode
 * features` and `eval --checkpoint`. */
#ifndef GANCL_CLS_REPORT_H
#define GANCL_CLS_REPORT_H

#include "gancl/classifier.h"

void print_report(const gan_cls_eval *e);

#endif
