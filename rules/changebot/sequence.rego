# A patch series that does not apply cannot land.
package changebot.sequence

import rego.v1

deny contains msg if {
	input.sequence.applies == false
	msg := sprintf("the patch series does not apply (%v)", [input.sequence.summary])
}
