/* Per-class accuracy and confusion matrix on stdout (tools/cls_report.h). */
#include "cls_report.h"

#include <stdio.h>

void print_report(const gan_cls_eval *e)
{
    printf("per-class accuracy:\n");
    for (int k = 0; k < GAN_CNN_CLASSES; k++)
        printf("  %d: %6.2f%%  (%zu of %zu)\n", k, 100.0 * e->class_acc[k], e->confusion[k][k], e->class_n[k]);
    printf("confusion matrix (rows: true class, columns: predicted):\n      ");
    for (int k = 0; k < GAN_CNN_CLASSES; k++) printf("%6d", k);
    printf("\n");
    for (int t = 0; t < GAN_CNN_CLASSES; t++) {
        printf("  %d: ", t);
        for (int p = 0; p < GAN_CNN_CLASSES; p++) printf("%6zu", e->confusion[t][p]);
        printf("\n");
    }
}
