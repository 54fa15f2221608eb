/** Default credentials the emulator accepts (override with `keyId` / `secretKey`). */
export const EMULATOR_KEY_ID = "EMULATORKEYID0000000"
export const EMULATOR_SECRET_KEY = "emulator-secret-key-0000000000000000000000"
