/* placeholder until the module lands */
#include "test-util.h"
int main(void) {
        return 77;
}
