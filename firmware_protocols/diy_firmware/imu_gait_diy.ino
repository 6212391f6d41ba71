// imu-gait DIY sensor firmware, profile version 1 (see PROFILE.md in this folder).
//
// Board: Seeed Studio XIAO nRF52840 Sense (LSM6DS3TR-C on I2C address 0x6A, powered from PIN_LSM6DS3TR_C_POWER)
// or any nRF52840 board of the Adafruit nRF52 Arduino core with an LSM6DS3 / LSM6DS3TR-C on Wire.
// Toolchain: Arduino IDE or arduino-cli with "Seeed nRF52 Boards" (or "Adafruit nRF52") installed; the
// Bluefruit library ships with the core. No other library is needed: the IMU is driven through its registers.
//
// What it does:
//   - advertises "IMUGAIT-xxxx" (last two address bytes) with the imu-gait service;
//   - on a start command samples acc + gyro at the requested rate (25..1000 Hz) on a timer driven by micros(),
//     with the IMU's own output rate set to at least twice that, and stamps every packet with micros() of its
//     first sample;
//   - batches samples into DATA notifications of floor((MTU - 11) / 12) samples (19 at MTU 247), counts packets
//     in a 16-bit sequence number and sets the overflow flag when its packet queue had to drop something;
//   - answers CTRL writes (start, stop, connection parameters, PHY, batch size) and keeps INFO up to date.
//
// Sampling runs in its own task (Scheduler.startLoop) so that a notification that waits for a free radio buffer
// never delays a sample; the two tasks share a single-producer / single-consumer packet queue.

#include <Wire.h>
#include <bluefruit.h>

// ---------------------------------------------------------------------------------------------------------------
// Profile constants (PROFILE.md)

static const uint8_t PROFILE_VERSION = 1;
static const uint8_t FW_MAJOR = 1, FW_MINOR = 0;
static const uint8_t CHIP_LSM6DS3 = 1;
static const uint8_t FLAG_OVERFLOW = 0x80;
static const uint8_t HEADER_BYTES = 8, SAMPLE_BYTES = 12, MAX_SAMPLES = 42;

enum Command : uint8_t { CMD_START = 1, CMD_STOP = 2, CMD_CONN = 3, CMD_PHY = 4, CMD_BATCH = 5 };

// 128-bit UUIDs 4d0a000N-6a1e-4c7b-8f5d-2e9b7c3a1f60, byte-reversed as the SoftDevice stores them
#define IMUGAIT_UUID(n)                                                                                      \
  { 0x60, 0x1f, 0x3a, 0x7c, 0x9b, 0x2e, 0x5d, 0x8f, 0x7b, 0x4c, 0x1e, 0x6a, (n), 0x00, 0x0a, 0x4d }
static const uint8_t UUID_SERVICE[16] = IMUGAIT_UUID(0x01);
static const uint8_t UUID_DATA[16] = IMUGAIT_UUID(0x02);
static const uint8_t UUID_CTRL[16] = IMUGAIT_UUID(0x03);
static const uint8_t UUID_INFO[16] = IMUGAIT_UUID(0x04);

BLEService imuService(UUID_SERVICE);
BLECharacteristic dataChr(UUID_DATA);
BLECharacteristic ctrlChr(UUID_CTRL);
BLECharacteristic infoChr(UUID_INFO);

// ---------------------------------------------------------------------------------------------------------------
// LSM6DS3 / LSM6DS3TR-C register driver

static const uint8_t IMU_ADDR = 0x6A;
static const uint8_t REG_WHO_AM_I = 0x0F, REG_CTRL1_XL = 0x10, REG_CTRL2_G = 0x11, REG_CTRL3_C = 0x12;
static const uint8_t REG_OUTX_L_G = 0x22;  // gyro x,y,z then acc x,y,z: 12 bytes

struct OdrCode { float hz; uint8_t code; };
static const OdrCode IMU_ODRS[] = {{12.5f, 1}, {26, 2}, {52, 3}, {104, 4}, {208, 5}, {416, 6}, {833, 7}, {1660, 8}};

static bool imuWrite(uint8_t reg, uint8_t value) {
  Wire.beginTransmission(IMU_ADDR);
  Wire.write(reg);
  Wire.write(value);
  return Wire.endTransmission() == 0;
}

static bool imuRead(uint8_t reg, uint8_t *buf, uint8_t len) {
  Wire.beginTransmission(IMU_ADDR);
  Wire.write(reg);
  if (Wire.endTransmission(false) != 0) return false;
  if (Wire.requestFrom(IMU_ADDR, len) != len) return false;
  for (uint8_t i = 0; i < len; i++) buf[i] = Wire.read();
  return true;
}

struct ImuSetting {
  uint16_t rateHz;      // requested output rate
  uint8_t accRangeG;    // 2, 4, 8, 16
  uint16_t gyrRangeDps; // 125, 250, 500, 1000, 2000 (the chip's 245 is reported as the profile's 250)
  float accLsb;         // m/s^2 per count as sent: range / 32768 (PROFILE.md)
  float gyrLsb;         // deg/s per count as sent: range / 32768
  float accScale;       // chip count -> profile count
  float gyrScale;
};

// Configure the chip; returns false for a range or rate the profile does not allow.
static bool imuConfigure(uint16_t rateHz, uint8_t accG, uint16_t gyrDps, ImuSetting *out) {
  if (!(rateHz == 25 || rateHz == 50 || rateHz == 100 || rateHz == 200 || rateHz == 400 || rateHz == 800 ||
        rateHz == 1000))
    return false;
  uint8_t fsXl;
  float accMg;
  switch (accG) {
    case 2: fsXl = 0x0; accMg = 0.061f; break;
    case 4: fsXl = 0x2; accMg = 0.122f; break;
    case 8: fsXl = 0x3; accMg = 0.244f; break;
    case 16: fsXl = 0x1; accMg = 0.488f; break;
    default: return false;
  }
  uint8_t fsG;
  uint16_t chipDps;
  float gyrMdps;
  switch (gyrDps) {
    case 125: fsG = 0x2; chipDps = 125; gyrMdps = 4.375f; break;  // FS_125 (bit 1)
    case 250: fsG = 0x0 << 2; chipDps = 245; gyrMdps = 8.75f; break;
    case 500: fsG = 0x1 << 2; chipDps = 500; gyrMdps = 17.5f; break;
    case 1000: fsG = 0x2 << 2; chipDps = 1000; gyrMdps = 35.0f; break;
    case 2000: fsG = 0x3 << 2; chipDps = 2000; gyrMdps = 70.0f; break;
    default: return false;
  }
  // the chip's output rate: the smallest one at least twice the sampling rate (we sample its latest output)
  uint8_t odr = IMU_ODRS[sizeof(IMU_ODRS) / sizeof(IMU_ODRS[0]) - 1].code;
  for (const OdrCode &o : IMU_ODRS) {
    if (o.hz >= 2.0f * rateHz) { odr = o.code; break; }
  }
  bool ok = imuWrite(REG_CTRL3_C, 0x44);  // BDU: no torn reads; IF_INC: burst reads
  ok = ok && imuWrite(REG_CTRL1_XL, (uint8_t)((odr << 4) | (fsXl << 2)));
  ok = ok && imuWrite(REG_CTRL2_G, (uint8_t)((odr << 4) | fsG));
  if (!ok) return false;
  // The profile sends counts of range / 32768; the LSM6DS3's sensitivities differ slightly (e.g. 70 mdps per
  // count at 2000 deg/s instead of 61.04), so every sample is rescaled before it is sent.
  (void)chipDps;
  out->rateHz = rateHz;
  out->accRangeG = accG;
  out->gyrRangeDps = gyrDps;
  out->accLsb = accG * 9.80665f / 32768.0f;
  out->gyrLsb = gyrDps / 32768.0f;
  out->accScale = (accMg * 1e-3f) / (accG / 32768.0f);
  out->gyrScale = (gyrMdps * 1e-3f) / (gyrDps / 32768.0f);
  return true;
}

static void imuPowerDown() {
  imuWrite(REG_CTRL1_XL, 0x00);
  imuWrite(REG_CTRL2_G, 0x00);
}

// ---------------------------------------------------------------------------------------------------------------
// Packet queue: the sampling task produces, the main loop consumes (one producer, one consumer)

static const uint8_t QUEUE_LEN = 16;
struct Packet { uint8_t len; uint8_t bytes[HEADER_BYTES + MAX_SAMPLES * SAMPLE_BYTES]; };
static Packet queue[QUEUE_LEN];
static volatile uint8_t qHead = 0, qTail = 0;  // head: next to fill (producer), tail: next to send (consumer)

// ---------------------------------------------------------------------------------------------------------------
// Shared state (written by BLE callbacks, applied by the sampling task)

static volatile bool streaming = false;
static volatile bool startRequested = false, stopRequested = false;
static volatile uint16_t reqRate = 100, reqGyr = 2000;
static volatile uint8_t reqAcc = 16;
static volatile uint8_t batchLimit = 0;   // 0 = as many as the MTU allows
static volatile uint16_t mtu = 23;
static volatile uint16_t connHandle = BLE_CONN_HANDLE_INVALID;
static ImuSetting setting = {100, 16, 2000, 16 * 9.80665f / 32768.0f, 2000.0f / 32768.0f, 1.0f, 1.0f};

static uint8_t samplesPerPacket() {
  int n = ((int)mtu - 3 - HEADER_BYTES) / SAMPLE_BYTES;
  if (n < 1) n = 1;
  if (n > MAX_SAMPLES) n = MAX_SAMPLES;
  if (batchLimit && batchLimit < n) n = batchLimit;
  return (uint8_t)n;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v & 0xFF; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (v >> (8 * i)) & 0xFF; }
static void putF32(uint8_t *p, float f) { uint32_t v; memcpy(&v, &f, 4); put32(p, v); }

static void updateInfo() {
  uint8_t info[20];
  info[0] = PROFILE_VERSION;
  info[1] = CHIP_LSM6DS3;
  putF32(info + 2, (float)setting.rateHz);
  info[6] = setting.accRangeG;
  put16(info + 7, setting.gyrRangeDps);
  putF32(info + 9, setting.accLsb);
  putF32(info + 13, setting.gyrLsb);
  info[17] = FW_MAJOR;
  info[18] = FW_MINOR;
  info[19] = samplesPerPacket();
  infoChr.write(info, sizeof(info));
}

// ---------------------------------------------------------------------------------------------------------------
// CTRL: validate in the authorize callback so that an invalid command gets an ATT error

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static bool validCommand(const uint8_t *d, uint16_t len) {
  if (len == 0) return false;
  switch (d[0]) {
    case CMD_START: {
      if (len != 6) return false;
      uint16_t rate = get16(d + 1), gyr = get16(d + 4);
      uint8_t acc = d[3];
      bool rateOk = rate == 25 || rate == 50 || rate == 100 || rate == 200 || rate == 400 || rate == 800 ||
                    rate == 1000;
      bool accOk = acc == 2 || acc == 4 || acc == 8 || acc == 16;
      bool gyrOk = gyr == 125 || gyr == 250 || gyr == 500 || gyr == 1000 || gyr == 2000;
      return rateOk && accOk && gyrOk;
    }
    case CMD_STOP: return len == 1;
    case CMD_CONN: {
      if (len != 9) return false;
      uint16_t mn = get16(d + 1), mx = get16(d + 3), lat = get16(d + 5), to = get16(d + 7);
      return mn >= 6 && mn <= mx && mx <= 3200 && lat <= 499 && to >= 10 && to <= 3200;
    }
    case CMD_PHY: return len == 2 && (d[1] == 1 || d[1] == 2);
    case CMD_BATCH: return len == 2 && d[1] <= MAX_SAMPLES;
    default: return false;
  }
}

static void applyCommand(uint16_t conn, const uint8_t *d) {
  BLEConnection *c = Bluefruit.Connection(conn);
  switch (d[0]) {
    case CMD_START:
      reqRate = get16(d + 1);
      reqAcc = d[3];
      reqGyr = get16(d + 4);
      startRequested = true;  // applied by the sampling task (I2C belongs to it)
      break;
    case CMD_STOP:
      stopRequested = true;
      break;
    case CMD_CONN:
      // interval in 1.25 ms units: ask for the minimum the central offered us to choose from
      if (c) c->requestConnectionParameter(get16(d + 1), get16(d + 5), get16(d + 7));
      break;
    case CMD_PHY:
      if (c) c->requestPHY(d[1] == 2 ? BLE_GAP_PHY_2MBPS : BLE_GAP_PHY_1MBPS);
      break;
    case CMD_BATCH:
      batchLimit = d[1];
      updateInfo();
      break;
  }
}

static void ctrlAuthorizeCallback(uint16_t conn, BLECharacteristic *chr, ble_gatts_evt_write_t *request) {
  (void)chr;
  bool ok = validCommand(request->data, request->len);
  ble_gatts_rw_authorize_reply_params_t reply;
  memset(&reply, 0, sizeof(reply));
  reply.type = BLE_GATTS_AUTHORIZE_TYPE_WRITE;
  reply.params.write.gatt_status = ok ? BLE_GATT_STATUS_SUCCESS : BLE_GATT_STATUS_ATTERR_APP_BEGIN;
  reply.params.write.update = ok ? 1 : 0;
  reply.params.write.offset = 0;
  reply.params.write.len = request->len;
  reply.params.write.p_data = request->data;
  sd_ble_gatts_rw_authorize_reply(conn, &reply);
  if (ok) applyCommand(conn, request->data);
}

// ---------------------------------------------------------------------------------------------------------------
// Connection handling

static void connectCallback(uint16_t conn) {
  connHandle = conn;
  BLEConnection *c = Bluefruit.Connection(conn);
  c->requestPHY();                // 2M when the central supports it
  c->requestDataLengthUpdate();   // 251-byte link-layer packets
  c->requestMtuExchange(247);
  c->requestConnectionParameter(12);  // 15 ms; the central decides
}

static void disconnectCallback(uint16_t conn, uint8_t reason) {
  (void)conn;
  (void)reason;
  connHandle = BLE_CONN_HANDLE_INVALID;
  stopRequested = true;  // a central that comes back sends a new start command
}

// ---------------------------------------------------------------------------------------------------------------
// Sampling task

static uint8_t building[HEADER_BYTES + MAX_SAMPLES * SAMPLE_BYTES];
static uint8_t buildCount = 0;
static uint16_t seq = 0;
static bool overflowPending = false;
static uint32_t nextSampleUs = 0;
static uint32_t periodUs = 10000;

static int16_t rescale(int16_t v, float k) {
  float x = v * k;
  if (x > 32767.0f) return 32767;
  if (x < -32768.0f) return -32768;
  return (int16_t)lroundf(x);
}

static void finishPacket() {
  uint8_t next = (uint8_t)((qHead + 1) % QUEUE_LEN);
  building[0] = PROFILE_VERSION | (overflowPending ? FLAG_OVERFLOW : 0);
  building[1] = buildCount;
  put16(building + 2, seq);
  seq++;  // counted even if the queue is full, so the central sees the loss
  if (next == qTail) {
    overflowPending = true;  // queue full: this packet is dropped
  } else {
    Packet &p = queue[qHead];
    p.len = HEADER_BYTES + buildCount * SAMPLE_BYTES;
    memcpy(p.bytes, building, p.len);
    qHead = next;
    overflowPending = false;
  }
  buildCount = 0;
}

static void samplingLoop() {
  if (stopRequested) {
    stopRequested = false;
    streaming = false;
    buildCount = 0;
    imuPowerDown();
  }
  if (startRequested) {
    startRequested = false;
    ImuSetting s;
    if (imuConfigure(reqRate, reqAcc, reqGyr, &s)) {
      setting = s;
      periodUs = 1000000UL / s.rateHz;
      seq = 0;
      buildCount = 0;
      overflowPending = false;
      qTail = qHead;  // forget packets of an earlier stream
      nextSampleUs = micros();
      updateInfo();
      streaming = true;
    }
  }
  if (!streaming) {
    delay(2);
    return;
  }
  uint32_t now = micros();
  if ((int32_t)(now - nextSampleUs) < 0) {
    yield();
    return;
  }
  if ((int32_t)(now - nextSampleUs) > (int32_t)(4 * periodUs)) {
    // we fell behind (should not happen): skip ahead. Samples inside a packet must stay 1/rate apart, so the
    // packet being built ends here; the next packet's t_first shows the hole.
    if (buildCount) finishPacket();
    overflowPending = true;
    nextSampleUs = now;
  }
  uint8_t raw[12];
  uint32_t t = nextSampleUs;
  nextSampleUs += periodUs;
  if (!imuRead(REG_OUTX_L_G, raw, sizeof(raw))) {
    if (buildCount) finishPacket();  // same reason: a missing sample ends the packet
    overflowPending = true;
    return;
  }
  if (buildCount == 0) put32(building + 4, t);
  uint8_t *s = building + HEADER_BYTES + buildCount * SAMPLE_BYTES;
  for (int axis = 0; axis < 3; axis++) {
    int16_t a = (int16_t)(raw[6 + 2 * axis] | (raw[7 + 2 * axis] << 8));  // acc x, y, z
    int16_t g = (int16_t)(raw[2 * axis] | (raw[1 + 2 * axis] << 8));      // gyro x, y, z
    put16(s + 2 * axis, (uint16_t)rescale(a, setting.accScale));
    put16(s + 6 + 2 * axis, (uint16_t)rescale(g, setting.gyrScale));
  }
  buildCount++;
  if (buildCount >= samplesPerPacket()) finishPacket();
}

// ---------------------------------------------------------------------------------------------------------------
// Arduino entry points

void setup() {
#ifdef PIN_LSM6DS3TR_C_POWER
  pinMode(PIN_LSM6DS3TR_C_POWER, OUTPUT);
  digitalWrite(PIN_LSM6DS3TR_C_POWER, HIGH);
  delay(20);
#endif
  Wire.begin();
  Wire.setClock(400000);
  uint8_t who = 0;
  imuRead(REG_WHO_AM_I, &who, 1);  // 0x69 LSM6DS3, 0x6A LSM6DS3TR-C; anything else: keep going, INFO says chip 1

  Bluefruit.configPrphBandwidth(BANDWIDTH_MAX);  // MTU 247, larger event length, more queued notifications
  Bluefruit.begin();
  Bluefruit.setTxPower(4);
  uint8_t mac[6];
  Bluefruit.getAddr(mac);
  char name[16];
  snprintf(name, sizeof(name), "IMUGAIT-%02X%02X", mac[1], mac[0]);
  Bluefruit.setName(name);
  Bluefruit.Periph.setConnectCallback(connectCallback);
  Bluefruit.Periph.setDisconnectCallback(disconnectCallback);

  imuService.begin();
  dataChr.setProperties(CHR_PROPS_NOTIFY);
  dataChr.setPermission(SECMODE_OPEN, SECMODE_NO_ACCESS);
  dataChr.setMaxLen(HEADER_BYTES + MAX_SAMPLES * SAMPLE_BYTES);
  dataChr.begin();
  ctrlChr.setProperties(CHR_PROPS_WRITE);
  ctrlChr.setPermission(SECMODE_NO_ACCESS, SECMODE_OPEN);
  ctrlChr.setMaxLen(9);
  ctrlChr.setWriteAuthorizeCallback(ctrlAuthorizeCallback);
  ctrlChr.begin();
  infoChr.setProperties(CHR_PROPS_READ);
  infoChr.setPermission(SECMODE_OPEN, SECMODE_NO_ACCESS);
  infoChr.setFixedLen(20);
  infoChr.begin();
  updateInfo();

  Bluefruit.Advertising.addFlags(BLE_GAP_ADV_FLAGS_LE_ONLY_GENERAL_DISC_MODE);
  Bluefruit.Advertising.addName();  // in the advertising data itself, not only in the scan response
  Bluefruit.ScanResponse.addService(imuService);
  Bluefruit.Advertising.restartOnDisconnect(true);
  Bluefruit.Advertising.setInterval(32, 244);  // 20 ms fast, then 152.5 ms
  Bluefruit.Advertising.setFastTimeout(30);
  Bluefruit.Advertising.start(0);

  Scheduler.startLoop(samplingLoop);
}

// Main loop: send queued packets; a notify may wait for a free radio buffer, sampling goes on meanwhile.
void loop() {
  uint16_t conn = connHandle;
  if (conn == BLE_CONN_HANDLE_INVALID) {
    qTail = qHead;
    delay(5);
    return;
  }
  BLEConnection *c = Bluefruit.Connection(conn);
  if (c) {
    uint16_t m = c->getMtu();
    if (m != mtu) {
      mtu = m;
      updateInfo();
    }
  }
  if (qTail == qHead || !dataChr.notifyEnabled(conn)) {
    delay(1);
    return;
  }
  Packet &p = queue[qTail];
  if (dataChr.notify(conn, p.bytes, p.len)) {
    qTail = (uint8_t)((qTail + 1) % QUEUE_LEN);
  } else {
    delay(1);  // no buffer yet: try the same packet again
  }
}
