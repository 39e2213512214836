// Package broker owns skill discovery, capability registry and resolution, the skill
// process runner and its worker protocol, the sideband op gate and limits (DESIGN §7). Not
// built yet: see the skills issue.
package broker
