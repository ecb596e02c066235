import CALSA
#if hasFeature(Embedded)
import CBoraLibc
#elseif canImport(Glibc)
import Glibc
#endif

/// A hardware capture device, as `arecord -l` lists it.
public struct CaptureHardware: Sendable, Equatable {
    public let card: Int
    public let device: Int
    public let cardID: String
    public let cardName: String
    public let deviceName: String
    /// The name to open it with ALSA converting formats: `plughw:CARD,DEV`.
    public var plugName: String { "plughw:\(card),\(device)" }
    /// The raw hardware name: `hw:CARD,DEV`.
    public var hwName: String { "hw:\(card),\(device)" }
}

/// A PCM name from the ALSA configuration (snd_device_name_hint), usable with `--device`.
public struct PCMName: Sendable, Equatable {
    public let name: String
    public let description: String
}

/// Capture device discovery.
public enum AudioDevices {
    /// Cards and their capture devices (snd_card_next, snd_ctl_pcm_next_device, snd_ctl_pcm_info).
    public static func captureHardware() -> [CaptureHardware] {
        bora_alsa_silence_errors()
        var result: [CaptureHardware] = []
        var card: Int32 = -1
        var cardInfo: OpaquePointer?
        var pcmInfo: OpaquePointer?
        snd_ctl_card_info_malloc(&cardInfo)
        snd_pcm_info_malloc(&pcmInfo)
        defer { snd_ctl_card_info_free(cardInfo); snd_pcm_info_free(pcmInfo) }
        while snd_card_next(&card) == 0 && card >= 0 {
            var ctl: OpaquePointer?
            guard snd_ctl_open(&ctl, "hw:\(card)", 0) == 0 else { continue }
            defer { snd_ctl_close(ctl) }
            guard snd_ctl_card_info(ctl, cardInfo) == 0 else { continue }
            let cardID = String(cString: snd_ctl_card_info_get_id(cardInfo))
            let cardName = String(cString: snd_ctl_card_info_get_name(cardInfo))
            var device: Int32 = -1
            while snd_ctl_pcm_next_device(ctl, &device) == 0 && device >= 0 {
                snd_pcm_info_set_device(pcmInfo, UInt32(device))
                snd_pcm_info_set_subdevice(pcmInfo, 0)
                snd_pcm_info_set_stream(pcmInfo, SND_PCM_STREAM_CAPTURE)
                guard snd_ctl_pcm_info(ctl, pcmInfo) == 0 else { continue }   // playback-only device
                result.append(CaptureHardware(card: Int(card), device: Int(device), cardID: cardID, cardName: cardName,
                                              deviceName: String(cString: snd_pcm_info_get_name(pcmInfo))))
            }
        }
        return result
    }

    /// PCM names from the ALSA configuration that can capture (IOID absent or "Input").
    public static func capturePCMNames() -> [PCMName] {
        bora_alsa_silence_errors()
        var hints: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        guard snd_device_name_hint(-1, "pcm", &hints) == 0, let list = hints else { return [] }
        defer { snd_device_name_free_hint(list) }
        func take(_ p: UnsafeMutablePointer<CChar>?) -> String? {
            guard let p else { return nil }
            defer { free(p) }
            return String(cString: p)
        }
        var result: [PCMName] = []
        var i = 0
        while let hint = list[i] {
            i += 1
            let ioid = take(snd_device_name_get_hint(hint, "IOID"))
            guard let name = take(snd_device_name_get_hint(hint, "NAME")), ioid == nil || ioid == "Input" else { continue }
            let description = take(snd_device_name_get_hint(hint, "DESC")) ?? ""
            result.append(PCMName(name: name, description: description.split(separator: "\n").joined(separator: " — ")))
        }
        return result
    }
}
